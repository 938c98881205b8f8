"""The web view's users, sessions and audit trail in the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.ledger.ledger import Ledger
from gateway.ledger.records import utc_now
from gateway.ledger.users import Role, UserError, hash_password

PASSWORD = "correct horse battery"


def test_a_user_logs_in_with_its_password_only(ledger: Ledger) -> None:
    added = ledger.add_user("maria", Role.COORDINATOR, hash_password(PASSWORD))
    assert added.role == Role.COORDINATOR and added.may(Role.VIEWER)
    assert not added.may(Role.ADMIN)
    stored = ledger.user("maria")
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    assert ledger.check_login("maria", PASSWORD) is not None
    assert ledger.check_login("maria", PASSWORD + "x") is None
    assert ledger.check_login("nobody", PASSWORD) is None


def test_bad_names_roles_short_passwords_and_twins_are_refused(ledger: Ledger) -> None:
    with pytest.raises(UserError, match="at least 12"):
        hash_password("short")
    good = hash_password(PASSWORD)
    for name in ("Maria", "", "a b", "x" * 65, "../x"):
        with pytest.raises(UserError, match="user name"):
            ledger.add_user(name, Role.VIEWER, good)
    with pytest.raises(UserError, match="role"):
        ledger.add_user("maria", "owner", good)
    ledger.add_user("maria", Role.VIEWER, good)
    with pytest.raises(UserError, match="already there"):
        ledger.add_user("maria", Role.ADMIN, good)
    assert [u.username for u in ledger.list_users()] == ["maria"]


def test_sessions_end_on_logout_expiry_and_when_the_user_is_disabled(ledger: Ledger) -> None:
    ledger.add_user("maria", Role.VIEWER, hash_password(PASSWORD))
    ledger.open_session("maria", "token-1", "csrf-1", timedelta(hours=8))
    ledger.open_session("maria", "token-2", "csrf-2", timedelta(hours=8))
    found = ledger.session("token-1")
    assert found is not None and (found.username, found.role, found.csrf) == (
        "maria", Role.VIEWER, "csrf-1",
    )  # fmt: skip
    assert ledger.session("token-1", now=utc_now() + timedelta(hours=9)) is None
    assert ledger.session("unknown") is None
    ledger.close_session("token-1")
    assert ledger.session("token-1") is None and ledger.session("token-2") is not None
    assert ledger.set_user_active("maria", False)
    assert ledger.session("token-2") is None
    assert ledger.check_login("maria", PASSWORD) is None
    assert ledger.set_user_active("maria", True) and ledger.check_login("maria", PASSWORD)
    assert not ledger.set_user_active("nobody", False)
    with ledger.engine.begin() as connection:  # only the cookie's hash is stored
        stored = connection.exec_driver_sql("SELECT token_sha256 FROM web_sessions").all()
    assert all(row[0] != "token-2" and len(row[0]) == 64 for row in stored)


def test_the_audit_trail_names_who_what_when_and_which_claim(ledger: Ledger) -> None:
    ledger.audit("maria", "login")
    ledger.audit("maria", "view_claim", "PCN-1")
    ledger.audit("maria", "release", detail={"file": "835-a.x12", "note": "ok"},
                 claim_ids=["PCN-1", "PCN-2"])  # fmt: skip
    trail = ledger.audit_trail()
    assert [(e.username, e.action, e.claim_id) for e in trail] == [
        ("maria", "release", "PCN-2"), ("maria", "release", "PCN-1"),
        ("maria", "view_claim", "PCN-1"), ("maria", "login", None),
    ]  # fmt: skip
    assert trail[0].detail == {"file": "835-a.x12", "note": "ok"}
    assert [e.action for e in ledger.audit_trail(claim_id="PCN-1")] == ["release", "view_claim"]
    assert len(ledger.audit_trail(username="nobody")) == 0
