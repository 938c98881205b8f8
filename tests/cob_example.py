"""The field guide's worked COB example (part 2, 1.6) as claim records, for several tests.

Claim RFM-25-0417: MARIA LOPEZ, her own plan PRAIRIE MUTUAL HEALTH primary (PMH01), her
husband DANIEL's LAKESHORE BENEFIT PLAN secondary (LKSBP), state Medicaid tertiary (SMAP1).
The 835s and 837s of that example are in tests/data/x12-examples/cob-*.x12.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import EXAMPLES

PRIMARY_835 = EXAMPLES / "cob-835-primary.x12"
SECONDARY_835 = EXAMPLES / "cob-835-secondary.x12"
SECONDARY_837 = EXAMPLES / "cob-837p-secondary.x12"
TERTIARY_837 = EXAMPLES / "cob-837p-tertiary.x12"

MARIA_ADDRESS = {"line1": "81 BLUFF STREET", "city": "SPRINGFIELD", "state": "IL", "zip": "62702"}


def lopez_claim(**changes: Any) -> dict[str, Any]:
    """The claim as the practice sends it to the primary, with both next payers on file."""
    claim: dict[str, Any] = {
        "claim_id": "RFM-25-0417",
        "kind": "professional",
        "billing_provider": {
            "npi": "1457394629",
            "tax_id": "376104522",
            "taxonomy": "207Q00000X",
            "organization_name": "RIVERBEND FAMILY MEDICINE",
            "address": {
                "line1": "2200 RIVER ROAD",
                "city": "SPRINGFIELD",
                "state": "IL",
                "zip": "627041234",
            },
        },
        "rendering_provider": {
            "npi": "1726043817",
            "last_name": "OKAFOR",
            "first_name": "ANIKA",
            "taxonomy": "207Q00000X",
        },
        "payer": {"id": "PMH01", "name": "PRAIRIE MUTUAL HEALTH"},
        "subscriber": {
            "member_id": "PMH884210337",
            "first_name": "MARIA",
            "last_name": "LOPEZ",
            "birth_date": "1979-09-15",
            "sex": "F",
            "address": MARIA_ADDRESS,
            "group_number": "PMG5520",
            "filing_indicator": "12",
        },
        "diagnoses": ["R06.02", "I10"],
        "place_of_service": "11",
        "service_date": "2025-04-02",
        "lines": [
            {
                "line_id": "RFM0417-1",
                "procedure": "99214",
                "charge": "210",
                "diagnosis_pointers": [1, 2],
            },
            {"line_id": "RFM0417-2", "procedure": "85025", "charge": "45"},
            {
                "line_id": "RFM0417-3",
                "procedure": "93000",
                "charge": "85",
                "diagnosis_pointers": [1, 2],
            },
        ],
        "next_payers": [
            {
                "payer": {"id": "LKSBP", "name": "LAKESHORE BENEFIT PLAN"},
                "sequence": "S",
                "subscriber": {
                    "member_id": "LBP5531907",
                    "first_name": "DANIEL",
                    "last_name": "LOPEZ",
                    "birth_date": "1977-02-11",
                    "sex": "M",
                    "group_number": "LK77310",
                    "relationship": "01",
                },
            },
            {
                "payer": {"id": "SMAP1", "name": "STATE MEDICAL ASSISTANCE PROGRAM"},
                "sequence": "T",
                "filing_indicator": "MC",
                "subscriber": {
                    "member_id": "IL90817364552",
                    "first_name": "MARIA",
                    "last_name": "LOPEZ",
                    "birth_date": "1979-09-15",
                    "sex": "F",
                    "relationship": "18",
                },
            },
        ],
    }
    claim.update(changes)
    return claim
