"""``gateway users add|list|disable|enable`` on a home's ledger (SQLite); ``gateway user`` is
its older name, the same commands, not listed in ``gateway --help``."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gateway.cli.main import cli
from gateway.config import database_url, load_settings
from gateway.home import init_home
from gateway.ledger.db import open_ledger

PASSWORD = "correct horse battery"


def _gateway(home: Path, *args: str, given: str = "") -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], input=given)
    return result.exit_code, result.output


def test_users_are_added_listed_disabled_and_enabled_with_an_audit_trail(tmp_path: Path) -> None:
    home = tmp_path / "home"
    init_home(home)
    code, out = _gateway(home, "users", "list")
    assert code == 0 and "no users yet" in out
    code, out = _gateway(home, "users", "add", "maria", "--role", "coordinator",
                         given=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert code == 0 and "user maria added (coordinator)" in out, out
    assert PASSWORD not in out  # the prompt hides it
    code, out = _gateway(home, "users", "add", "sam", "--role", "viewer", "--password-stdin",
                         given=f"{PASSWORD}\n")  # fmt: skip
    assert code == 0, out
    code, out = _gateway(home, "users", "add", "sam", "--role", "admin", "--password-stdin",
                         given=f"{PASSWORD}\n")  # fmt: skip
    assert code == 2 and "already there" in out
    code, out = _gateway(home, "users", "add", "short", "--role", "admin", "--password-stdin",
                         given="tiny\n")  # fmt: skip
    assert code == 2 and "at least 12" in out
    code, out = _gateway(home, "users", "disable", "sam")
    assert code == 0 and "disabled" in out
    code, out = _gateway(home, "users", "list")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["maria", "coordinator", "active"]
    assert lines[1].split()[:3] == ["sam", "viewer", "disabled"]
    code, out = _gateway(home, "users", "disable", "nobody")
    assert code == 2 and "not there" in out
    code, out = _gateway(home, "users", "enable", "sam")
    assert code == 0
    with open_ledger(database_url(home, load_settings(home))) as ledger:
        assert ledger.check_login("sam", PASSWORD) is not None
        trail = [(e.username, e.action, e.detail.get("user")) for e in ledger.audit_trail()]
    assert trail == [
        ("cli", "user_enabled", "sam"), ("cli", "user_disabled", "sam"),
        ("cli", "user_added", "sam"), ("cli", "user_added", "maria"),
    ]  # fmt: skip


def test_user_is_the_older_name_of_users_and_not_in_the_help(tmp_path: Path) -> None:
    home = tmp_path / "home"
    init_home(home)
    code, out = _gateway(home, "user", "add", "ada", "--role", "admin", "--password-stdin",
                         given=f"{PASSWORD}\n")  # fmt: skip
    assert code == 0 and "user ada added (admin)" in out, out
    code, by_old_name = _gateway(home, "user", "list")
    code_new, by_new_name = _gateway(home, "users", "list")
    assert code == code_new == 0 and by_old_name == by_new_name and "ada" in by_new_name
    code, out = _gateway(home, "user", "disable", "nobody")
    assert code == 2 and "(gateway users list)" in out
    code, out = _gateway(home, "--help")
    listed = [line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()]
    assert "users" in listed and "user" not in listed
    code, out = _gateway(home, "users", "--help")
    assert code == 0 and all(c in out for c in ("add", "list", "disable", "enable"))
