"""The records the gateway writes hold exactly what ``gateway schema`` and docs/outputs.md
describe: each validates against its model, and every field it carries is one the model names
(the models allow extra fields for consumers; the gateway itself adds none undescribed)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from gateway.domain.outputs import SCHEMAS


def _undescribed(model: type[BaseModel], record: dict[str, Any], where: str) -> list[str]:
    fields = model.model_fields
    out = [f"{where}{key}" for key in record if key not in fields]
    for key, value in record.items():
        annotation = fields[key].annotation if key in fields else None
        inner = getattr(annotation, "__args__", None) or ()
        nested = [t for t in (annotation, *inner) if isinstance(t, type)
                  and issubclass(t, BaseModel)]  # fmt: skip
        if not nested:
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                out += _undescribed(nested[0], item, f"{where}{key}.")
    return out


def assert_described(kind: str, records: list[dict[str, Any]]) -> None:
    """``kind``: posting, balance or status."""
    model = SCHEMAS[kind]
    assert records, f"no {kind} records to check"
    for record in records:
        model.model_validate(record)
        assert _undescribed(model, record, "") == [], (kind, record)
