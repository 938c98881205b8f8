"""``gateway users add|list|disable|enable``: the people who may open the web view.
(``gateway user ...`` is the same group under its older name, kept for scripts.)

Passwords are asked twice on the terminal (never an argument, which would stay in the shell's
history and in ``ps``); ``--password-stdin`` reads one line instead, for scripts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gateway.config import ConfigError, database_url, load_settings
from gateway.ledger.ledger import Ledger


def _ledger(ctx: click.Context) -> Ledger:
    from gateway.cli.main import home_dir
    from gateway.ledger.db import open_ledger

    home: Path = home_dir(ctx)
    try:
        return open_ledger(database_url(home, load_settings(home)))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


@click.group()
def users() -> None:
    """Users of the web view (gateway web): viewer, coordinator or admin."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "coordinator", "admin"]), required=True,
              help="viewer: looks; coordinator: also releases or discards held payments; "
              "admin: also reads the audit trail")  # fmt: skip
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """Add a user (the password is hashed with argon2id; at least 12 characters)."""
    from gateway.ledger.users import UserError, hash_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with _ledger(ctx) as ledger:
        try:
            ledger.add_user(name, role, hash_password(password))
        except UserError as exc:
            raise click.UsageError(str(exc)) from exc
        ledger.audit("cli", "user_added", detail={"user": name, "role": role})
    click.echo(f"user {name} added ({role})")


@users.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """Each user, its role, and whether it may log in."""
    with _ledger(ctx) as ledger:
        found = ledger.list_users()
    if not found:
        click.echo("no users yet: gateway users add NAME --role admin")
    for u in found:
        state = "active" if u.active else "disabled"
        click.echo(f"{u.username:<24} {u.role.value:<12} {state:<9} since {u.created_at:%Y-%m-%d}")


def _set_active(ctx: click.Context, name: str, active: bool) -> None:
    with _ledger(ctx) as ledger:
        if not ledger.set_user_active(name, active):
            raise click.UsageError(f"user {name}: not there (gateway users list)")
        action = "user_enabled" if active else "user_disabled"
        ledger.audit("cli", action, detail={"user": name})
    click.echo(f"user {name} " + ("enabled" if active else "disabled: its sessions are ended"))


@users.command("disable")
@click.argument("name")
@click.pass_context
def user_disable(ctx: click.Context, name: str) -> None:
    """Stop a user from logging in, and end its open sessions (kept for the audit trail)."""
    _set_active(ctx, name, False)


@users.command("enable")
@click.argument("name")
@click.pass_context
def user_enable(ctx: click.Context, name: str) -> None:
    """Let a disabled user log in again."""
    _set_active(ctx, name, True)


# The older name, the very same commands; not in ``gateway --help``.
user = click.Group("user", commands=users.commands, hidden=True,
                   help="The same as gateway users (its older name).")  # fmt: skip
