"""``gateway demo --web``: the demo home made ready for a look in the browser.

The demo ends with nothing held, so a payer re-sends one of its 835s under a new trace number
(as payers do): the daemon holds its claim payments for review as possible duplicates, which
the held payments page then shows. A user ``demo`` (admin) is added with a password made here.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from gateway.daemon.runner import Daemon
from gateway.ledger.users import Role, hash_password

COPY_TRACE = "DEMO-COPY-0001"


def resend_a_payment(home: Path, partner: str = "clearinghouse") -> str:
    """Drop a copy of the partner's smallest 835 of two claims or more without reversals (a copy
    of a reversal and its corrected payment nets to nothing; one claim released still leaves one
    held to look at) with a new trace number and take it in (one daemon
    cycle); the copy's name."""
    processed = home / "exchange" / partner / "out" / "processed"
    plain = [p for p in sorted(processed.glob("835-*.x12"))
             if not re.search(r"CLP\*[^*~]*\*22\*", p.read_text())]  # fmt: skip
    several = [p for p in plain if p.read_text().count("CLP*") >= 2]  # a release leaves one
    paid = min(several or plain, key=lambda p: p.read_text().count("CLP*"))
    text = re.sub(r"TRN\*1\*[^*~]+\*", f"TRN*1*{COPY_TRACE}*", paid.read_text(), count=1)
    name = "835-resent.x12"
    target = home / "exchange" / partner / "out" / name
    tmp = target.with_name(f".{name}.part")
    tmp.write_text(text)
    os.replace(tmp, target)
    daemon = Daemon(home)
    try:
        daemon.cycle(once=True)
    finally:
        daemon.ledger.close()
    return name


def add_demo_user(home: Path, username: str = "demo") -> str:
    """An admin for the demo home; its password (made here, shown once)."""
    from gateway.config import database_url, load_settings
    from gateway.ledger.db import open_ledger

    password = secrets.token_urlsafe(12)
    with open_ledger(database_url(home, load_settings(home))) as ledger:
        ledger.add_user(username, Role.ADMIN, hash_password(password))
    return password
