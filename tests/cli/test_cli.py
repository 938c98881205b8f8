"""The ``gateway`` command: schema, build, validate, parse (contract section 6)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli.main import cli
from tests.conftest import REPO, SAMPLES

SAMPLE_FILES = [str(SAMPLES / f"{k}.json") for k in ("professional", "dental", "institutional")]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_schema_claim_is_the_json_schema_of_the_claim_record() -> None:
    code, out, _ = run("schema", "claim")
    schema = json.loads(out)
    assert code == 0
    assert schema["additionalProperties"] is False
    assert {"claim_id", "kind", "billing_provider", "payer", "subscriber", "diagnoses",
            "lines"} <= set(schema["required"])  # fmt: skip
    assert schema["properties"]["kind"]["enum"] == ["professional", "dental", "institutional"]


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).parent / "gateway"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True)
    assert "validate" in out.stdout and "build" in out.stdout


def test_build_one_kind_to_a_private_file_that_parses_back(tmp_path: Path) -> None:
    target = tmp_path / "out" / "claims.x12"
    code, _, err = run("--home", str(REPO), "build", SAMPLE_FILES[0], "-o", str(target),
                       "--partner", "example", "--control-number", "42")  # fmt: skip
    assert code == 0, err
    assert "837P interchange 000000042 with 2 claim(s)" in err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    text = target.read_text()
    assert text.startswith("ISA*00*          *00*          *ZZ*PRACTICE01     *ZZ*ACMECH    ")
    assert "*000000042*1*T*:~GS*HC*PRACTICE01*ACMECH*" in text
    code, out, _ = run("parse", str(target))
    assert code == 0
    parsed = json.loads(out)
    assert parsed["transaction"] == "837"
    assert [c["claim_id"] for c in parsed["claims"]] == ["PCN-2025-0001", "PCN-2025-0002"]
    assert parsed["claims"][1]["patient"]["first_name"] == "JOSE"
    assert parsed["claims"][0]["lines"][1]["diagnosis_pointers"] == [1, 2]


def test_build_several_kinds_needs_a_folder(tmp_path: Path) -> None:
    code, _, err = run("build", *SAMPLE_FILES)
    assert code == 2
    assert "the claims are of several kinds: give -o FOLDER" in err
    code, _, err = run("build", *SAMPLE_FILES, "-o", str(tmp_path / "out"))
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["837D-000000001.x12", "837I-000000002.x12", "837P-000000003.x12"]


def test_build_reports_bad_claims_and_builds_the_good_ones(tmp_path: Path) -> None:
    records = json.loads((SAMPLES / "professional.json").read_text())
    records[1]["billing_provider"]["npi"] = "1234567890"
    src = tmp_path / "mixed.json"
    src.write_text(json.dumps(records))
    out = tmp_path / "mixed.x12"
    code, _, err = run("build", str(src), "-o", str(out))
    assert code == 1
    assert ("mixed.json: claim PCN-2025-0002: billing_provider.npi: NPI 1234567890 fails the "
            "check digit (the last digit should be 3)") in err  # fmt: skip
    assert "CLM*PCN-2025-0001*" in out.read_text()
    assert "PCN-2025-0002" not in out.read_text()


def test_validate_claim_files_and_x12(tmp_path: Path) -> None:
    code, out, _ = run("validate", *SAMPLE_FILES)
    assert code == 0
    assert out.splitlines() == [f"{name}: OK" for name in SAMPLE_FILES]
    built = tmp_path / "built"
    run("build", *SAMPLE_FILES, "-o", str(built))
    files = sorted(str(p) for p in built.iterdir())
    code, out, _ = run("validate", *files)
    assert code == 0, out
    broken = tmp_path / "broken.x12"
    text = Path(files[2]).read_text().replace("CLM*PCN-2025-0001*175*", "CLM*PCN-2025-0001*170*")
    broken.write_text(text.replace("SV1*HC:99213*", "SV1*HC:99213:A*"))
    code, out, _ = run("validate", str(broken))
    assert code == 1
    assert out.splitlines()[0] == (
        "broken.x12: claim PCN-2025-0001: segment 21 (CLM): CLM02: claim total 170 does not "
        "equal the sum of its line charges 175"
    )
    assert any("segment 26 (SV1)" in line for line in out.splitlines()[1:])


def test_validate_refuses_unknown_files(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    code, out, _ = run("validate", str(path))
    assert code == 1
    assert out.strip() == (
        "notes.txt: is neither a claim file (.json, .jsonl, .csv) nor an X12 file (starts with ISA)"
    )


def test_validate_json_report(tmp_path: Path) -> None:
    bad = json.loads((SAMPLES / "professional.json").read_text())[0]
    bad["diagnoses"] = ["E11.9", "NOPE"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    code, out, _ = run("validate", "--json", str(path))
    assert code == 1
    report = json.loads(out)
    assert report == {
        str(path): [
            {
                "file": "bad.json",
                "claim": "PCN-2025-0001",
                "field": "diagnoses[2]",
                "message": "'NOPE' is not an ICD-10-CM code (a letter, a digit, then 1 to 5 "
                "letters or digits, like E11.9)",
            }
        ]
    }


def test_parse_refuses_transactions_it_does_not_read(corpus: Path) -> None:
    code, _, err = run("parse", str(corpus / "other/pyx12_834_multiple_st_loops.txt"))
    assert code == 2
    assert (
        "transaction 834 is not one the gateway reads (835, 837, 999, 277CA, TA1, 270, 271, 276, "
        "277)" in err
    )


@pytest.mark.parametrize(
    ("name", "transaction", "key"),
    [("example-835.x12", "835", "payments"), ("example-999.x12", "999", "groups"),
     ("example-277ca.x12", "277CA", "claims"), ("example-ta1.x12", "TA1", "interchange_acks")],
)  # fmt: skip
def test_parse_every_reply(examples: Path, name: str, transaction: str, key: str) -> None:
    code, out, _ = run("parse", str(examples / name))
    assert code == 0
    data = json.loads(out)
    assert data["transaction"] == transaction and data[key]


def test_parse_835_json_and_csv(examples: Path, tmp_path: Path) -> None:
    code, out, _ = run("parse", str(examples / "example-835-reversal.x12"))
    assert code == 0
    [payment] = json.loads(out)["payments"]
    assert payment["balanced"] is True and payment["balance_errors"] == []
    assert [c["claim_id"] for c in payment["claims"]] == ["PCN-2025-0001"] * 2 + ["PCN-2025-0002"]
    assert payment["claims"][2]["balance"]["patient_owes"] == "40.00"
    code, out, _ = run("parse", "--format", "csv", str(examples / "example-835-reversal.x12"))
    rows = out.splitlines()
    assert code == 0 and len(rows) == 1 + 5  # header + one row per service line
    assert rows[1].split(",")[9:12] == ["-175.00", "-90.00", "-20.00"]
    broken = tmp_path / "unbalanced.835"
    broken.write_text((examples / "example-835.x12").read_text().replace("BPR*I*90*", "BPR*I*95*"))
    code, out, err = run("parse", str(broken))
    assert code == 1
    assert json.loads(out)["payments"][0]["balanced"] is False
    assert (
        "unbalanced.835: not balanced: transaction 0001: claims pay 90 - provider adjustments 0 = 90, but BPR02 says 95 (off by 5)"
        in err
    )


@pytest.mark.parametrize("name", ["stupidedi_X224A2_multiple-tooth-numbers.edi"])
def test_parse_real_837d(corpus: Path, name: str) -> None:
    code, out, _ = run("parse", str(corpus / "837d" / name))
    assert code == 0
    claims = json.loads(out)["claims"]
    assert claims and all(c["kind"] == "dental" for c in claims)
    assert any(line.get("tooth") for c in claims for line in c["lines"])


def test_init_makes_a_private_home_and_never_overwrites_one(tmp_path: Path) -> None:
    home = tmp_path / "clinic"
    code, out, _ = run("init", str(home))
    assert code == 0, out
    assert "exchange/example/" in out  # the example partner's folder pair, said
    for folder in ("claims", "rejected", "outbound", "inbound", "archive", "postings",
                   "balances", "status", "review"):  # fmt: skip
        path = home / "spool" / folder
        assert path.is_dir() and stat.S_IMODE(path.stat().st_mode) == 0o700
    # every folder it made is private, spool/ and exchange/ too, and every file
    modes = {p.relative_to(home).as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in [home, *home.rglob("*")]}  # fmt: skip
    assert {m for p, m in modes.items() if (home / p).is_dir()} == {0o700}
    assert {m for p, m in modes.items() if (home / p).is_file()} == {0o600}
    assert {"spool", "exchange", "exchange/example/in", "simulator.toml",
            "mappings/generic-csv.sample.csv"} <= set(modes)  # fmt: skip
    sample = home / "mappings" / "generic-csv.sample.csv"
    code, out, _ = run("--home", str(home), "validate", str(sample))
    assert (code, out.strip()) == (0, f"{sample}: OK")  # the sample export is valid
    assert stat.S_IMODE((home / "gateway.toml").stat().st_mode) == 0o600
    assert 'url = "sqlite:///state/gateway.db"' in (home / "gateway.toml").read_text()
    code, _, err = run("--home", str(home), "build", SAMPLE_FILES[0], "-o", str(tmp_path / "o.x12"))
    assert code == 0, err  # the example partner is used
    assert "*ZZ*ACMECH" in (tmp_path / "o.x12").read_text()
    csv_claims = REPO / "tests" / "intake" / "fixtures" / "visits.csv"
    code, out, _ = run("--home", str(home), "validate", str(csv_claims))
    assert (code, out.strip()) == (0, f"{csv_claims}: OK")  # the shipped CSV mapping is there
    code, _, err = run("init", str(home))
    assert code == 2 and "is already a gateway home" in err


@pytest.mark.parametrize(
    ("template", "shipped"),
    [("partner-example.toml", "partners/example.toml"),
     ("mapping-generic-csv.toml", "mappings/generic-csv.toml"),
     ("sample-generic.csv", "mappings/generic-csv.sample.csv"),
     ("mapping-pms-json.toml", "mappings/pms-json.toml"),
     ("mapping-eligibility-csv.toml", "mappings/eligibility-csv.toml")],
)  # fmt: skip
def test_init_templates_are_the_files_the_repo_ships(template: str, shipped: str) -> None:
    assert (REPO / "gateway/templates" / template).read_bytes() == (REPO / shipped).read_bytes()
