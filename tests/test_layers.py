"""Lower layers never import higher ones (DEVELOPERS.md, "How we write code")."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gateway"

# What each layer may import from the gateway package (besides itself).
ALLOWED: dict[str, set[str]] = {
    "files": set(),
    "archive_compression": set(),
    "x12": set(),
    "domain": {"x12"},  # the claim checks measure text as the 837 writers will send it
    "config": set(),
    "logs": set(),
    "ledger": set(),
    "home": set(),
    "templates": set(),
    "transports": {"config"},
    "followup": {"domain", "ledger", "config"},
    "simulator": {"x12", "domain", "transactions", "config"},
    "demo": {"domain", "daemon", "simulator", "home", "ledger", "config", "followup"},
    "daemon": {
        "x12",
        "domain",
        "transactions",
        "intake",
        "config",
        "replies",
        "ledger",
        "transports",
        "logs",
        "home",
        "followup",
    },
    "transactions": {"x12", "domain"},
    "intake": {"domain"},
    "replies": {"x12", "domain", "transactions"},
    "cli": {
        "x12",
        "domain",
        "transactions",
        "intake",
        "config",
        "replies",
        "logs",
        "home",
        "transports",
        "daemon",
        "ledger",
        "simulator",
        "demo",
        "archive_compression",
        "followup",
        "web",  # gateway web: serves the web view
    },
    # The web view reads the ledger and the home; settling a held payment goes through the same
    # door as `gateway review` (daemon.remittance_posting.settle_held), its one daemon import.
    "web": {
        "ledger",
        "domain",
        "config",
        "home",
        "logs",
        "x12",
        "transactions",
        "replies",
        "daemon",
        "followup",
    },
}


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _gateway_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "gateway" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_every_module_belongs_to_a_known_layer() -> None:
    layers = {
        _layer(p) for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE
    }
    assert layers <= set(ALLOWED), layers - set(ALLOWED)


def test_lower_layers_never_import_higher_ones() -> None:
    bad = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent == PACKAGE and path.name == "__init__.py":
            continue
        layer = _layer(path)
        for imported in _gateway_imports(path) - {layer, "files"}:  # files: under every layer
            if imported not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(PACKAGE)} imports gateway.{imported}")
    assert bad == []


def test_only_the_syntax_layer_splits_segments() -> None:
    """No other layer reads raw X12 text: they all go through gateway.x12."""
    for path in PACKAGE.rglob("*.py"):
        if _layer(path) == "x12":
            continue
        text = path.read_text()
        assert '.split("~")' not in text and ".split('~')" not in text, path
