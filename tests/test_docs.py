"""The repository documents itself: the README and docs/ link only to files that exist, and
cite nothing a user of the repository does not have (the outside contract's sections)."""

from __future__ import annotations

import re

from tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_every_link_leads_to_a_file_of_the_repository() -> None:
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_no_page_or_shipped_file_cites_the_outside_contract() -> None:
    shipped = [*PAGES, *(REPO / "gateway" / "templates").iterdir(), *(REPO / "mappings").iterdir(),
               *(REPO / "partners").iterdir(), REPO / "spool" / "README.md"]  # fmt: skip
    for path in shipped:
        if path.suffix in (".md", ".toml", ".csv"):
            assert "contract section" not in path.read_text(), path


def test_docs_name_every_event_and_next_action_the_gateway_writes() -> None:
    from typing import get_args

    from gateway.domain.outputs import Balance, Status

    outputs = (REPO / "docs" / "outputs.md").read_text()
    events = get_args(Status.model_fields["event"].annotation)
    actions = get_args(Balance.model_fields["next_action"].annotation)
    for word in (*events, *actions):
        assert f"`{word}`" in outputs, word
