"""A problem found in an input, said in plain language and located (file, claim, field)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one claim (or with a whole file when ``claim`` is None)."""

    message: str
    field: str | None = None
    claim: str | None = None
    file: str | None = None
    segment_index: int | None = None
    segment_id: str | None = None

    def located(self, *, file: str | None = None, claim: str | None = None) -> Problem:
        return Problem(
            self.message,
            self.field,
            claim if self.claim is None else self.claim,
            file if self.file is None else self.file,
            self.segment_index,
            self.segment_id,
        )

    def __str__(self) -> str:
        where = [w for w in (self.file,) if w]
        if self.claim:
            where.append(f"claim {self.claim}")
        if self.segment_index is not None:
            where.append(
                f"segment {self.segment_index}"
                + (f" ({self.segment_id})" if self.segment_id else "")
            )
        if self.field:
            where.append(self.field)
        return f"{': '.join(where)}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None}
