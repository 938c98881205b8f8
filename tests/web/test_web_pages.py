"""The web view's pages in process (FastAPI's TestClient), on SQLite and PostgreSQL: the login,
its cookie and headers, the claim search, settling held payments through the ledger's door,
roles, CSRF, the audit trail, and no patient data in URLs or logs; the worklist and aging pages
(what the CLI shows, at the web's fixed clock) and a claim's notes, payers and explanation."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func, select, update

from gateway.daemon.explanations import explanation_of
from gateway.daemon.legs_view import leg_lines
from gateway.daemon.runner import Daemon
from gateway.ledger.corrections import NoteKind
from gateway.ledger.db import open_ledger
from gateway.ledger.records import utc_now
from gateway.ledger.schema import IN_FORCE, ClaimState, claim_payments, remittances
from gateway.simulator import Simulator, SimulatorConfig
from gateway.simulator.config import AdjudicationConfig
from tests.cli.test_followup_cli import ACCEPTED, SENT, claim, run
from tests.conftest import SAMPLES
from tests.daemon.homes import drop_claims, drop_reply, make_home, read_jsonl
from tests.ledger.conftest import MakeDatabase
from tests.ledger.test_ledger_legs import hand_on, open_secondary
from tests.ledger.test_ledger_payments import remit, sent_claim
from tests.sshd import SFTP_PARTNER
from tests.web.conftest import add_users, client, csrf_of, log_in

PAGES = ["/", "/worklist", "/aging", "/claims", "/claims/PCN-2025-0001", "/payments", "/review",
         "/eligibility", "/partners", "/audit"]  # fmt: skip


def _professional() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((SAMPLES / "professional.json").read_text())
    return records


def _home_with_held_payments(tmp_path: Path, url: str) -> Path:
    """Two claims paid, then a copy of their 835 under a new trace: both payments held."""
    home = make_home(tmp_path, database=url)
    config = SimulatorConfig(seed=3, adjudication=AdjudicationConfig())
    payer = Simulator(home / "exchange" / "in", home / "exchange" / "out", config,
                      home / "state" / "simulator.json")  # fmt: skip
    daemon = Daemon(home)
    try:
        drop_claims(home, "visits.json", _professional())
        daemon.run(once=True)
        payer.step()
        daemon.run(once=True)
        [paid] = (home / "exchange" / "out" / "processed").glob("835-*.x12")
        text = paid.read_text()
        trace = text.split("TRN*1*", 1)[1].split("*", 1)[0]
        drop_reply(home, "835-copy.x12", text.replace(f"TRN*1*{trace}*", "TRN*1*COPY-0001*"))
        daemon.run(once=True)
        assert len(daemon.ledger.held_payments()) == 2
    finally:
        daemon.ledger.close()
    add_users(url)
    return home


def test_every_page_is_behind_the_login_with_safe_cookies_and_headers(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    url = make_database()
    home = make_home(tmp_path, database=url)
    add_users(url)
    web = client(home)
    for path in PAGES:
        answer = web.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/login"), path
    page = web.get("/login")
    assert (
        "HttpOnly" in page.headers["set-cookie"] and "SameSite=strict" in page.headers["set-cookie"]
    )
    for name, value in (("content-security-policy", "default-src 'self'"),
                        ("x-frame-options", "DENY"), ("cache-control", "no-store"),
                        ("referrer-policy", "no-referrer")):  # fmt: skip
        assert value in page.headers[name]
    token = csrf_of(page.text)
    wrong = web.post("/login", data={"username": "maria", "password": "guess " * 3, "csrf": token})
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.text
    forged = web.post("/login", data={"username": "maria", "password": "maria's long password"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    log_in(web, "maria")
    cookie = next(c for c in web.cookies.jar if c.name == "gateway_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and not cookie.secure
    for path in PAGES[:-1]:
        answer = web.get(path)
        assert answer.status_code == (404 if path.startswith("/claims/") else 200), path
    assert web.get("/audit").status_code == 403  # a coordinator is no admin
    secure = client(home, https=True)  # served over TLS: the cookie says Secure
    log_in(secure, "ada")
    assert next(c for c in secure.cookies.jar if c.name == "gateway_session").secure
    assert secure.get("/audit").status_code == 200
    # a logout ends the session for good: the same cookie opens nothing
    token = csrf_of(web.get("/").text)
    stolen = web.cookies.get("gateway_session")
    assert web.post("/logout", data={"csrf": token}).headers["location"] == "/login"
    again = TestClient(web.app, base_url="http://gateway.test", follow_redirects=False,
                       cookies={"gateway_session": stolen})  # fmt: skip
    assert again.get("/").status_code == 303
    # so does disabling the user
    with open_ledger(url) as ledger:
        ledger.set_user_active("ada", False)
    assert secure.get("/").status_code == 303


def test_claim_search_finds_by_patient_claim_id_payer_state_and_dates(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    url = make_database()
    home = make_home(tmp_path, database=url)
    add_users(url)
    base = _professional()[0]
    names = ["DOE", "DOERING", "DOF", "O'NEIL", "DOE_X", "DO%E"]
    with open_ledger(url) as ledger:
        for n in range(120):
            record = json.loads(json.dumps(base))
            record["claim_id"] = f"WEB-{n:04d}"
            record["subscriber"]["last_name"] = names[n % len(names)]
            record["subscriber"]["first_name"] = "JANE" if n % 2 else "JOHN"
            record["service_date"] = f"2025-03-{1 + n % 28:02d}"
            for line in record["lines"]:
                line["service_date"] = record["service_date"]
            ledger.add_claim(record, kind="professional", partner="acme",
                             payer_id="ACMEH" if n % 3 else "OTHER")  # fmt: skip
        ledger.transition("WEB-0007", ClaimState.BATCHED, source="test")
    web = client(home)
    csrf = log_in(web, "sam")  # a viewer may search

    def found(**asked: str) -> list[str]:
        answer = web.post("/claims", data={"csrf": csrf, **asked})
        assert answer.status_code == 200 and str(answer.url).endswith("/claims")
        return sorted({part.split('"')[0] for part in answer.text.split('href="/claims/')[1:]})

    assert found(patient="doer") == [f"WEB-{n:04d}" for n in range(1, 120, 6)]  # DOERING
    doe = found(patient="doe, j")  # DOE, DOERING and DOE_X (not DOF): 60, a page of 50
    assert len(doe) == 50 and not {f"WEB-{n:04d}" for n in range(2, 120, 6)} & set(doe)
    assert found(patient="doe_") == [f"WEB-{n:04d}" for n in range(4, 120, 6)]  # _ is no wildcard
    assert found(patient="DO%") == [f"WEB-{n:04d}" for n in range(5, 120, 6)]  # nor is %
    assert found(patient="o'neil, ja") == [f"WEB-{n:04d}" for n in range(3, 120, 6)]
    assert found(patient="o'neil, jo") == []
    assert found(claim_id="WEB-000") == [f"WEB-{n:04d}" for n in range(10)]
    assert found(claim_id="WEB-0007", state="batched") == ["WEB-0007"]
    assert found(payer_id="OTHER", served_from="2025-03-01", served_to="2025-03-01") == [
        f"WEB-{n:04d}" for n in range(0, 120, 3) if n % 28 == 0
    ]
    bad = web.post("/claims", data={"csrf": csrf, "served_from": "03/01/2025"})
    assert "use YYYY-MM-DD" in bad.text
    first = web.post("/claims", data={"csrf": csrf})
    assert 'value="1">older' in first.text and first.text.count('href="/claims/') == 50
    last = web.post("/claims", data={"csrf": csrf, "page_no": "2"})
    assert last.text.count('href="/claims/') == 20 and "older →" not in last.text
    assert web.post("/claims", data={"patient": "doe"}).status_code == 403  # no CSRF token
    odd = web.post("/claims", data={"csrf": csrf, "page_no": "-1", "patient": "x" * 81})
    assert odd.status_code == 400 and "page_no" in odd.text and "<html" in odd.text


def test_held_payments_are_released_and_discarded_by_a_coordinator_only(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    url = make_database()
    started = utc_now()  # every claim and payment below is recorded at or after it
    home = _home_with_held_payments(tmp_path, url)
    # The pages' "now" is fixed at the start: the money of "this week" and "this month" counts
    # everything recorded here even when the test runs across midnight into a Monday (UTC).
    viewer, coordinator = client(home, clock=lambda: started), client(home, clock=lambda: started)
    sam, maria = log_in(viewer, "sam"), log_in(coordinator, "maria")
    page = viewer.get("/review")
    assert "PCN-2025-0001" in page.text and "/review/release" not in page.text
    form = {"file": "835-copy.x12", "claim_id": "PCN-2025-0001", "note": "ok"}
    refused = viewer.post("/review/release", data={**form, "csrf": sam})
    assert refused.status_code == 403 and "a viewer may not do this" in refused.text
    assert coordinator.post("/review/release", data=form).status_code == 403  # no CSRF token
    assert coordinator.post("/review/release", data={**form, "csrf": sam}).status_code == 403
    no_note = coordinator.post("/review/release", data={**form, "note": " ", "csrf": maria})
    assert no_note.status_code == 400 and "say why" in no_note.text
    with structlog.testing.capture_logs() as logs:
        released = coordinator.post("/review/release", data={**form, "csrf": maria,
                                    "note": "the payer confirmed it"})  # fmt: skip
    assert released.status_code == 303
    done = coordinator.get(released.headers["location"])
    assert "released 1 claim payment(s) (PCN-2025-0001)" in done.text
    assert "PCN-2025-0001 now paid more than once by the same payer, as you chose" in done.text
    discarded = coordinator.post("/review/discard", data={**form, "csrf": maria,
                                 "claim_id": "PCN-2025-0002", "note": "a copy"})  # fmt: skip
    assert discarded.status_code == 303
    assert "Nothing is held for review" in coordinator.get("/review").text
    again = coordinator.post("/review/discard", data={**form, "csrf": maria})
    assert again.status_code == 404
    claim = coordinator.get("/claims/PCN-2025-0001").text
    for link in ("/files/inbound/acme/835-copy.x12", "/files/outbound/acme/"):
        assert f'href="{link}' in claim
    read = coordinator.get("/files/inbound/acme/835-copy.x12")
    assert read.status_code == 200 and "COPY-0001" in read.text and "claim payment" in read.text
    for bad in ("/files/inbound/acme/..", "/files/inbound/../835-copy.x12", "/files/spool/acme/x",
                "/files/inbound/acme/.hidden", "/files/inbound/acme/%2e%2e%2fgateway.toml"):  # fmt: skip
        assert coordinator.get(bad).status_code == 404, bad
    assert "released" in claim and "the payer confirmed it" in claim
    assert "payment_discarded" in coordinator.get("/claims/PCN-2025-0002").text
    assert any(e["event"] == "payments_released" for e in logs)
    daemon = Daemon(home)  # the daemon's next cycle writes the records, as after gateway review
    try:
        daemon.run(once=True)
    finally:
        daemon.ledger.close()
    posted = [p for p in read_jsonl(home / "spool" / "postings") if p.get("released_after_review")]
    assert [(p["claim_id"], p["review_note"]) for p in posted] == [
        ("PCN-2025-0001", "the payer confirmed it")
    ]
    with open_ledger(url) as ledger:
        trail = [(e.username, e.action, e.claim_id) for e in ledger.audit_trail(limit=1000)]
        in_force = [p for p in ledger.claim_payments() if p.state in IN_FORCE]
        billed = sum((Decimal(c.billed or 0) for c in ledger.list_claims()), Decimal(0))
    paid = sum((Decimal(p.paid) for p in in_force), Decimal(0))
    left = sum((Decimal(p.patient_responsibility) for p in in_force), Decimal(0))
    money = coordinator.get("/").text.split('id="money"')[1].split("</table>")[0]
    assert len(in_force) == 3 and paid > 0  # two paid, one released
    row = f'<td class="num">{billed:,.2f}</td><td class="num">{paid:,.2f}</td><td class="num">{left:,.2f}</td>'
    assert money.count(row) == 2, money  # this week and this month
    assert ("maria", "payment_released", "PCN-2025-0001") in trail
    assert ("maria", "view_file", None) in trail
    assert ("maria", "payment_discarded", "PCN-2025-0002") in trail
    assert ("sam", "refused", None) in trail and ("maria", "csrf_refused", None) in trail


def test_no_patient_data_in_urls_or_logs(tmp_path: Path, make_database: MakeDatabase) -> None:
    url = make_database()
    home = _home_with_held_payments(tmp_path, url)
    web = client(home)
    with structlog.testing.capture_logs() as logs:
        csrf = log_in(web, "ada")
        answer = web.post("/claims", data={"csrf": csrf, "patient": "doe, jane"})
        visited = [str(answer.url)]
        for path in ("/", "/review", "/claims/PCN-2025-0001", "/eligibility", "/audit"):
            visited.append(str(web.get(path).url))
    assert "DOE" in answer.text  # shown on the page, behind the login
    said = json.dumps(logs, default=str).upper()
    for secret in ("DOE", "JANE", "XYZ123456789", "1980-05-14"):
        assert secret not in said and all(secret not in u.upper() for u in visited)


def test_five_wrong_passwords_make_a_user_names_logins_wait(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    url = make_database()
    home = make_home(tmp_path, database=url)
    add_users(url)
    web = client(home)
    log_in(web, "sam")  # a good login earlier does not count
    for _ in range(5):
        token = csrf_of(web.get("/login").text)
        wrong = web.post("/login", data={"username": "sam", "password": "x" * 12, "csrf": token})
        assert wrong.status_code == 401
    token = csrf_of(web.get("/login").text)
    right = web.post("/login", data={"username": "sam", "password": "sam's long password!",
                                     "csrf": token})  # fmt: skip
    assert right.status_code == 429 and "try again in 15 minutes" in right.text
    log_in(client(home), "maria")  # another user name is not held up
    with open_ledger(url) as ledger:
        assert [e.action for e in ledger.audit_trail(username="sam", limit=2)] == [
            "login_locked", "login_failed",
        ]  # fmt: skip


def test_the_partners_page_shows_health_traffic_and_settings_but_no_secret(
    tmp_path: Path, make_database: MakeDatabase, monkeypatch: Any
) -> None:
    url = make_database()
    home = _home_with_held_payments(tmp_path, url)
    monkeypatch.setenv("CLEARING_KEY_PASSPHRASE", "hunter2-the-passphrase")
    (home / "partners" / "clearing.toml").write_text(
        SFTP_PARTNER.format(port=2222, user="practice", key="id_ed25519").replace(
            'known_hosts = "known_hosts"',
            'known_hosts = "known_hosts"\npassphrase_env = "CLEARING_KEY_PASSPHRASE"',
        )
    )
    web = client(home)
    log_in(web, "sam")
    text = web.get("/partners").text
    acme = text.split('id="partner-acme"')[1].split("</section>")[0]
    assert "ok" in acme and "sent</dt><dd>1 of 1 interchange(s) built" in acme
    assert "received</dt><dd>" in acme and "exchange/in" in acme
    assert 'id="message"' not in text  # every partner file was read
    clearing = text.split('id="partner-clearinghouse"')[1].split("</section>")[0]
    assert "practice@127.0.0.1:2222" in clearing and "keys/id_ed25519" in clearing
    assert "$CLEARING_KEY_PASSPHRASE" in clearing and "not polled yet" in clearing
    assert "hunter2" not in text


def test_worklist_and_aging_pages_show_what_the_cli_shows(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    url = make_database()
    home = make_home(tmp_path, database=url)
    today = utc_now().date()
    with open_ledger(url) as ledger:
        claim(ledger, "ACC-1", *ACCEPTED, charge="1100.10", payer="P1", served=today)
        claim(ledger, "ACC-2", *ACCEPTED, charge="0.25", payer="P2", served=today)
        claim(ledger, "ACC-3", *ACCEPTED, charge="33.33", payer="P1", served=today)
        claim(ledger, "REJ-1", *SENT, (ClaimState.REJECTED, "999"), charge="40.00", payer="P1",
              served=today - timedelta(days=80))  # fmt: skip
    add_users(url)
    later = datetime.combine(today + timedelta(days=45), datetime.min.time(), UTC)
    as_of = later.strftime("%Y-%m-%dT%H:%M:%S")
    web = client(home, clock=lambda: later)
    log_in(web, "sam")  # a viewer reads both pages
    code, out = run("--home", str(home), "worklist", "--json", "--as-of", as_of)
    items = json.loads(out)
    assert code == 0 and len(items) >= 4

    def rows(html: str) -> list[tuple[str, str, str]]:
        table = html.split('id="worklist"')[1].split("</table>")[0]
        return re.findall(r'<tr class="item (\w+)[^"]*">.*?href="/claims/([^"]+)".*?'
                          r'class="num days-left">(-?\d*)</td>', table)  # fmt: skip

    page = web.get("/worklist")
    assert page.status_code == 200 and page.text.count('method="post"') == 1  # just: log out
    left = [str((date.fromisoformat(i["due"]) - later.date()).days) if i["due"] else ""
            for i in items]  # fmt: skip
    assert rows(page.text) == [
        (i["reason"], i["claim_id"], d) for i, d in zip(items, left, strict=True)
    ]
    assert any(d for d in left)  # the timely filing deadline of REJ-1
    total = sum((Decimal(i["amount"]) for i in items), Decimal(0))
    assert f'id="worklist-total">{total:,.2f}<' in page.text
    no_payment = web.get("/worklist?reason=no_payment")
    assert [c for _, c, _ in rows(no_payment.text)] == ["ACC-1", "ACC-3", "ACC-2"]  # most money
    assert web.get("/worklist?reason=nonsense").status_code == 400
    assert "Nothing needs you for appeal due" in web.get("/worklist?reason=appeal_due").text
    code, out = run("--home", str(home), "aging", "--json", "--as-of", as_of)
    report = json.loads(out)
    aging = web.get("/aging")
    assert aging.status_code == 200 and "<svg" in aging.text
    assert aging.text.count('method="post"') == 1
    grand = Decimal(report["totals"]["total"]["amount"])
    assert grand == Decimal("1133.68") and report["totals"]["31-60"]["count"] == 3
    assert f'id="aging-total">{grand:,.2f} <small>(3)</small>' in aging.text
    for row in report["rows"]:
        amount = Decimal(row["total"]["amount"])
        assert f"<td>{row['payer']}</td>" in aging.text and f"{amount:,.2f}" in aging.text
    by_partner = web.get("/aging?by=partner").text
    assert "<td>acme</td>" in by_partner and f"{grand:,.2f}" in by_partner
    assert web.get("/aging?by=nobody").status_code == 400
    first = web.get("/").text
    assert 'href="/worklist"' in first and 'href="/aging"' in first
    assert f"<b>{len(items)}</b> item(s) on the worklist" in first
    assert 'href="/worklist?reason=no_payment">no payment: 3<' in first
    menu = first.split("<nav>")[1].split("</nav>")[0]
    assert ">Worklist</a>" in menu and ">Aging</a>" in menu


def test_a_long_worklist_comes_a_hundred_items_a_page_with_the_whole_lists_counts(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    url = make_database()
    home = make_home(tmp_path, database=url)
    today = utc_now().date()
    with open_ledger(url) as ledger:
        for n in range(230):
            rejected = (ClaimState.REJECTED, "999")
            claim(ledger, f"C-{n:03d}", *SENT, *([rejected] if n % 2 else []),
                  charge=f"{n + 1}.00", payer="P1", served=today)  # fmt: skip
    add_users(url)
    later = datetime.combine(today + timedelta(days=45), datetime.min.time(), UTC)
    code, out = run("--home", str(home), "worklist", "--json", "--as-of", later.isoformat()[:19])
    items = json.loads(out)
    assert code == 0 and len(items) == 230  # 115 rejected, 115 without a 999
    web = client(home, clock=lambda: later)
    log_in(web, "sam")
    shown: list[str] = []
    for number in (1, 2, 3):
        text = web.get(f"/worklist?page={number}").text
        table = text.split('id="worklist"')[1].split("</table>")[0]
        shown += re.findall(r'<tr class="item \w+[^"]*">.*?href="/claims/([^"]+)"', table)
        assert "rejected: 115<" in text and "no 999: 115<" in text  # the whole list's
        assert "230 item(s)" in text
    assert shown == [i["claim_id"] for i in items]  # in the CLI's order, none twice
    assert "items 201 to 230 of 230 · page 3 of 3" in text and 'id="worklist-next"' not in text
    total = sum((Decimal(i["amount"]) for i in items), Decimal(0))
    assert f'id="worklist-total">{total:,.2f}<' in text  # the whole list's total on each page
    rejected = web.get("/worklist?reason=rejected&page=2").text
    assert "items 101 to 115 of 115" in rejected and "no_999" not in rejected.split("<table")[1]
    assert web.get("/worklist?page=4").status_code == 400
    assert web.get("/worklist?page=0").status_code == 400
    # the same clock, the ledger changed: the page says so at once
    with open_ledger(url) as ledger:
        ledger.transition("C-000", ClaimState.REJECTED, source="999", detail={"file": "x"})
    text = web.get("/worklist").text
    assert "rejected: 116<" in text and "no 999: 114<" in text and "230 item(s)" in text


def test_a_claim_page_shows_notes_payers_and_the_explanation_and_a_coordinator_adds_a_note(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    url = make_database()
    home = _home_with_held_payments(tmp_path, url)
    with open_ledger(url) as ledger:
        ledger.add_note("PCN-2025-0001", "the patient called about the bill", author="front desk")
        ledger.add_note("PCN-2025-0001", "patient says the copay was paid at the desk",
                        author="front desk", kind=NoteKind.DISPUTE_OPENED)  # fmt: skip
        explained = explanation_of(ledger, "PCN-2025-0001")
    assert explained is not None
    viewer, coordinator = client(home), client(home)
    sam, maria = log_in(viewer, "sam"), log_in(coordinator, "maria")
    seen = viewer.get("/claims/PCN-2025-0001").text
    for sentence in explained["explanation"]:
        assert str(escape(sentence)) in seen
    assert "the patient called about the bill" in seen and 'id="dispute"' in seen
    assert "dispute opened" in seen and 'id="add-note"' not in seen
    assert 'id="add-note"' in coordinator.get("/claims/PCN-2025-0001").text
    form = {"text": "appeal sent by fax"}
    target = "/claims/PCN-2025-0001/notes"
    refused = viewer.post(target, data={**form, "csrf": sam})
    assert refused.status_code == 403 and "a viewer may not do this" in refused.text
    assert coordinator.post(target, data=form).status_code == 403  # no CSRF token
    assert coordinator.post(target, data={**form, "csrf": sam}).status_code == 403  # not hers
    empty = coordinator.post(target, data={"text": "  ", "csrf": maria})
    assert empty.status_code == 400 and "a note needs some text" in empty.text
    unknown = coordinator.post("/claims/NOPE-1/notes", data={**form, "csrf": maria})
    assert unknown.status_code == 404
    kept = coordinator.post(target, data={**form, "csrf": maria})
    assert kept.status_code == 303 and kept.headers["location"].startswith("/claims/PCN-2025-0001?")
    shown = coordinator.get(kept.headers["location"]).text
    assert "note kept (" in shown and "appeal sent by fax" in shown
    with open_ledger(url) as ledger:
        notes = [(n.author, n.kind, n.text) for n in ledger.notes("PCN-2025-0001")]
        trail = [(e.username, e.action, e.claim_id) for e in ledger.audit_trail(limit=1000)]
        legs = ledger.legs("PCN-2025-0001")
    assert notes[-1] == ("maria", "note", "appeal sent by fax") and len(notes) == 3
    assert ("maria", "note_added", "PCN-2025-0001") in trail
    assert ("sam", "refused", None) in trail and ("maria", "csrf_refused", None) in trail
    assert ('id="payers"' in shown) == bool(legs)
    with open_ledger(url) as ledger, ledger.engine.begin() as connection:  # a posting cut short
        connection.execute(update(claim_payments).where(
            claim_payments.c.claim_id == "PCN-2025-0002").values(posting="{}"))  # fmt: skip
    cut = viewer.get("/claims/PCN-2025-0002")
    assert cut.status_code == 200 and 'id="unexplained"' in cut.text and 'id="notes"' in cut.text


def test_a_claim_billed_to_a_second_payer_lists_its_payers_as_gateway_claim_does(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    url = make_database()
    home = make_home(tmp_path, database=url)
    with open_ledger(url) as ledger:
        sent_claim(ledger)
        remit(ledger, "T1", hand_on("p1"))
        assert open_secondary(ledger)
        story = ledger.claim_story("PCN-1")
        assert story is not None
        lines = leg_lines(ledger.legs("PCN-1"), story.events, story.payments)
    add_users(url)
    web = client(home)
    log_in(web, "sam")
    page = web.get("/claims/PCN-1")
    assert page.status_code == 200
    payers = page.text.split('<ul id="payers">')[1].split("</ul>")[0]
    assert len(lines) == 2 and payers.count("<li>") == 2
    for line in lines:
        assert f"<li>{escape(line.strip())}</li>" in payers


PAYMENT_ROW = re.compile(
    r'<tr class="payment" id="payment-(\d+)"><td>([^<]*)</td><td>([^<]*)</td><td class="nw">'
    r'([^<]*)</td>\s*<td class="num amount">([^<]*)</td><td class="num claims">(\d+)</td>'
)


def test_the_payments_page_lists_the_ledgers_remittances_newest_first_read_only(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    url = make_database()
    home = _home_with_held_payments(tmp_path, url)
    viewer, coordinator = client(home), client(home)
    log_in(viewer, "sam")
    maria = log_in(coordinator, "maria")
    page = viewer.get("/payments")
    assert page.status_code == 200
    with open_ledger(url) as ledger, ledger.engine.begin() as c:
        stored = c.execute(select(remittances).order_by(remittances.c.id.desc())).all()
        counts = dict(c.execute(select(claim_payments.c.remittance_id, func.count())
                                .group_by(claim_payments.c.remittance_id)).all())  # fmt: skip
    shown = [(int(i), trace, payer, day, Decimal(amount), int(n))
             for i, trace, payer, day, amount, n in PAYMENT_ROW.findall(page.text)]  # fmt: skip
    assert shown == [(r.id, r.trace_number, r.payer_id, r.payment_date, Decimal(r.amount),
                      counts[r.id]) for r in stored]  # fmt: skip
    assert len(shown) == 2 and shown[0][1] == "COPY-0001" and shown[0][4] > 0
    assert all(re.fullmatch(r"\d+\.\d\d", a) for *_, a, _n in PAYMENT_ROW.findall(page.text))
    copy, first = page.text.split('id="payment-')[1:3]
    assert 'href="/files/inbound/acme/835-copy.x12"' in copy and "balanced" in copy
    assert 'href="/review#file-835-copy.x12"' in copy and "2 held: review" in copy, copy
    assert "2 claim payment(s) of it wait for review" in copy
    assert "/review#" not in first and "held" not in first and "posted" in first
    assert 'id="file-835-copy.x12"' in viewer.get("/review").text  # where the link lands
    # read-only for everyone: no form but the logout, no action a viewer could take
    assert page.text.count("<form") == 1 and "/review/release" not in page.text
    assert '<a href="/payments" class="here">Payments</a>' in page.text
    # settled, it waits no more
    for claim_id, verdict in (("PCN-2025-0001", "release"), ("PCN-2025-0002", "discard")):
        answer = coordinator.post(f"/review/{verdict}", data={"file": "835-copy.x12",
                                  "claim_id": claim_id, "note": "checked", "csrf": maria})  # fmt: skip
        assert answer.status_code == 303
    after = coordinator.get("/payments").text.split('id="payment-')[1]
    assert "/review#" not in after and "wait for review" not in after
    # a payment whose money does not add up is held as a whole, and says why
    with open_ledger(url) as ledger, ledger.engine.begin() as c:
        c.execute(update(remittances).where(remittances.c.id == shown[1][0]).values(
            state="held", detail=json.dumps({"hold": [{"reason": "unbalanced", "problems": [
                {"message": "BPR02 is not the sum of the claim payments"}]}]})))  # fmt: skip
    unbalanced = coordinator.get("/payments").text.split('id="payment-')[2]
    assert "does not add up" in unbalanced and "BPR02 is not the sum" in unbalanced
    assert ">held<" in unbalanced
    # pages: the newest first, then the older
    with open_ledger(url) as ledger:
        newest, more = ledger.remittance_rows(page=0, size=1)
        oldest, last = ledger.remittance_rows(page=1, size=1)
    assert [r.remittance.id for r in newest + oldest] == [r.id for r in stored]
    assert (more, last) == (True, False)
    assert viewer.get("/payments?page_no=1").status_code == 200
    assert viewer.get("/payments?page_no=-1").status_code == 400
    with open_ledger(url) as ledger:
        trail = [(e.username, e.action) for e in ledger.audit_trail(limit=1000)]
    assert ("sam", "view_payments") in trail
