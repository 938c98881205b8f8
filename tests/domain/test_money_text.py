"""Amount texts of postings and balances: ``money`` takes a fast path (the Decimal's own text)
and must give exactly what ``f"{value:.2f}"`` gives, for every shape of Decimal."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from gateway.domain.posting import money
from gateway.transactions import remit_835


@pytest.mark.parametrize(
    "text",
    ["0", "-0", "0.00", "-0.00", "0E-7", "-0E+3", "90", "90.5", "90.50", "-12.5", "1.005",
     "1.015", "-1.005", "0.001", "-0.001", "1E+1", "1.2E+3", "5.0E+3", "1234567.89",
     "12345678901234567.5", "0.00000001", "-1E-9", "100.000"],
)  # fmt: skip
def test_money_is_the_two_decimal_format(text: str) -> None:
    value = Decimal(text)
    assert money(value) == f"{value:.2f}"


def test_money_agrees_with_the_format_on_random_amounts() -> None:
    rng = random.Random(15)
    for _ in range(20_000):
        value = Decimal(rng.randint(-(10**9), 10**9)).scaleb(-rng.randint(-3, 6))
        assert money(value) == f"{value:.2f}", value


def test_the_amount_cache_stays_bounded_and_right(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader's amount texts are cached; a full cache is emptied, never wrong."""
    monkeypatch.setattr(remit_835, "_AMOUNTS_MAX", 8)
    for n in range(50):
        assert remit_835._money(f"{n}.25", 1, "CLP04") == Decimal(f"{n}.25")
        assert len(remit_835._AMOUNTS) <= 8
    assert remit_835._money("", 1, "CLP04") == 0
    with pytest.raises(remit_835.BadValue, match="CLP04 '1e5' is not a number"):
        remit_835._money("1e5", 7, "CLP04")


def test_money_texts_kept_are_right_for_equal_amounts_and_signed_zeros() -> None:
    """Equal Decimals share one kept text (the same value formats the same); zeros are never
    kept, since minus zero equals zero but reads otherwise."""
    pairs = [("1.5", "1.50"), ("1.50", "1.50"), ("1.500", "1.50"), ("0", "0.00"),
             ("-0", "-0.00"), ("0.00", "0.00"), ("-0.00", "-0.00"), ("-0.001", "-0.00"),
             ("0.001", "0.00"), ("2.675", "2.68"), ("2.6750", "2.68")]  # fmt: skip
    for _ in range(2):
        for text, shown in pairs:
            assert money(Decimal(text)) == shown, text


def test_the_quantity_cache_stays_bounded_and_keeps_its_own_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Quantities (CAS04, SVC05) are cached apart from amounts: 15 digits, not 18, and an empty
    one is no quantity at all."""
    monkeypatch.setattr(remit_835, "_AMOUNTS_MAX", 8)
    monkeypatch.setattr(remit_835, "_QUANTITIES", {})  # not what earlier tests left in it
    for n in range(30):
        assert remit_835._quantity(f"{n % 12}", 1, "SVC05") == Decimal(n % 12)
        assert len(remit_835._QUANTITIES) <= 8
    assert remit_835._quantity("", 1, "SVC05") is None
    assert remit_835._money("9" * 16, 1, "CLP03") == Decimal("9" * 16)
    with pytest.raises(remit_835.BadValue, match=r"SVC05 '9{16}' is not a number .* 15 digits"):
        remit_835._quantity("9" * 16, 4, "SVC05")
    with pytest.raises(remit_835.BadValue, match="CAS04 '1e5' is not a number"):
        remit_835._quantity("1e5", 4, "CAS04")
