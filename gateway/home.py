"""A gateway home (contract section 1): its layout, and ``gateway init`` making one."""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

from gateway.files import private_dir

SPOOL_FOLDERS = (
    "claims", "rejected", "outbound", "inbound", "archive", "postings", "balances", "status",
    "review",
    "eligibility", "benefits",
)  # fmt: skip
TEMPLATES = {
    "gateway.toml": "gateway.toml",
    "partners/example.toml": "partner-example.toml",
    "mappings/generic-csv.toml": "mapping-generic-csv.toml",
    "mappings/generic-csv.sample.csv": "sample-generic.csv",
    "mappings/pms-json.toml": "mapping-pms-json.toml",
    "mappings/eligibility-csv.toml": "mapping-eligibility-csv.toml",
    "simulator.toml": "simulator.toml",
}


HOME_FOLDERS = ("partners", "mappings", "state", *(f"spool/{n}" for n in SPOOL_FOLDERS))


class HomeExists(Exception):
    """``gateway init`` never overwrites a home."""


class NotAHome(Exception):
    """``gateway init --upgrade`` needs an existing home."""


def init_home(home: Path) -> list[Path]:
    """Create a home: settings, an example partner and mappings (with a sample CSV export),
    the simulator's settings, private spool folders, and ``exchange/example/in|out``: the
    example partner's folder pair (a directory partner), so the daemon and ``gateway simulate``
    run at once; delete it when a real partner replaces the example.

    Every folder is 0700 (parents it makes too) and every file 0600: patient data lives here.
    Refuses a folder that already holds a ``gateway.toml``.
    """
    if (home / "gateway.toml").exists():
        raise HomeExists(f"{home} is already a gateway home (it has a gateway.toml)")
    made = []
    folders = (*HOME_FOLDERS, "exchange/example/in", "exchange/example/out")  # the example's
    private_dir(home)
    home.chmod(0o700)
    for folder in folders:
        path = private_dir(home / folder)  # and the folders on the way (spool/, exchange/)
        made.append(path)
    templates = files("gateway.templates")
    for target, name in TEMPLATES.items():
        path = home / target
        with templates.joinpath(name).open("rb") as src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        path.chmod(0o600)
        made.append(path)
    return made


def upgrade_home(home: Path) -> list[Path]:
    """Add the folders a newer gateway expects to an existing home (0700); settings, partners,
    mappings and data are never touched. Returns the folders made."""
    if not (home / "gateway.toml").exists():
        raise NotAHome(f"{home} is not a gateway home (no gateway.toml): create one with init")
    made = []
    for folder in HOME_FOLDERS:
        path = home / folder
        if not path.is_dir():
            path.mkdir(mode=0o700, parents=True)
            path.chmod(0o700)
            made.append(path)
    return made
