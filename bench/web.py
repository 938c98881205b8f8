"""``python -m bench web``: every page of the web view with 10,000 claims in the ledger, on
SQLite and PostgreSQL, over real HTTP (uvicorn on 127.0.0.1, one client), p50/p95 per page;
and the claim search's query plan on each database, which must walk the search indexes.

The ledger is filled in bulk (not timed): N claims of a few hundred patients, each with its
events (queued, batched, submitted, then paid, denied or rejected), an interchange, a payment
for most (in 200 received 835 payments), 20 payments held for review, 200 eligibility answers
and 20,000 audit events. Every timed request is a whole page: the session check, the queries,
the audit event it writes, the template.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.__main__ import RESULTS, ROOT, write_report

console = Console(stderr=True)
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LAST = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "LOPEZ",
        "WILSON", "ANDERSON", "THOMAS", "TAYLOR", "MOORE", "JACKSON", "MARTIN", "LEE", "PEREZ",
        "THOMPSON", "WHITE", "HARRIS", "SANCHEZ", "CLARK", "RAMIREZ", "LEWIS", "ROBINSON",
        "WALKER", "YOUNG", "ALLEN", "KING", "WRIGHT", "SCOTT", "TORRES", "NGUYEN", "HILL",
        "FLORES", "GREEN", "ADAMS", "NELSON", "BAKER", "HALL", "RIVERA", "CAMPBELL", "MITCHELL",
        "CARTER", "ROBERTS", "GOMEZ", "PHILLIPS", "EVANS", "TURNER", "DIAZ", "PARKER", "CRUZ",
        "EDWARDS", "COLLINS", "REYES", "STEWART", "MORRIS", "MORALES", "MURPHY"]  # fmt: skip
FIRST = ["MARIA", "JAMES", "ANA", "JOHN", "SAM", "LINDA", "WEI", "OMAR", "SARA", "DAVID"]
PASSWORD = "bench password, long enough"
TARGET_MS = 100.0
PAYERS = ["ACMEH", "DELTA1", "BCBS01", "AETNA1"]


def _pg_database() -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bench_web_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _record(n: int, rng: random.Random) -> dict[str, Any]:
    """A professional claim record (contract section 2), enough for the pages and the search."""
    day = datetime(2026, 1, 1) + timedelta(days=rng.randrange(330))
    lines = [{"line_id": f"L{k}", "procedure": rng.choice(["99213", "99214", "85025", "80053"]),
              "charge": f"{rng.randrange(40, 400)}.00", "service_date": day.date().isoformat()}
             for k in range(rng.randint(1, 4))]  # fmt: skip
    patient = n % 3000
    return {
        "claim_id": f"B{n:09d}", "kind": "professional", "service_date": day.date().isoformat(),
        "payer": {"id": PAYERS[n % 4], "name": "BENCH PAYER"},
        "subscriber": {"member_id": f"M{patient:08d}", "last_name": LAST[patient % len(LAST)]
                       + ("" if patient < len(LAST) else f"-{patient // len(LAST)}"),
                       "first_name": FIRST[patient % len(FIRST)], "birth_date": "1980-01-01"},
        "lines": lines, "total_charge": "0",
    }  # fmt: skip


def fill(url: str, n: int, seed: int) -> dict[str, str]:
    """The ledger at ``url`` with ``n`` claims and the rest (see the module docstring); the
    ids the timed requests open."""
    from sqlalchemy import insert, text

    from gateway.ledger.db import open_ledger
    from gateway.ledger.records import dumps, search_fields
    from gateway.ledger.schema import (
        claim_events,
        claim_payments,
        claims,
        eligibility_requests,
        interchange_claims,
        interchanges,
        remittances,
    )  # fmt: skip
    from gateway.ledger.users import Role, audit_events, hash_password

    rng = random.Random(seed)
    now = datetime.now(UTC)
    with open_ledger(url) as ledger:
        ledger.add_user("bench", Role.ADMIN, hash_password(PASSWORD))
        with ledger.engine.begin() as c:
            c.execute(insert(interchanges), [{
                "partner": "acme", "control_number": k + 1, "kind": "837P",
                "file_name": f"acme-837P-{k + 1:09d}.x12", "sha256": "0" * 64,
                "claim_count": 100, "created_at": now, "sent_at": now,
                "group_control_number": k + 1} for k in range((n + 99) // 100)])  # fmt: skip
            c.execute(insert(remittances), [{
                "trace_number": f"T{k}", "payer_id": "ACMEH", "amount": "100.00",
                "payment_date": "2026-11-30", "file_name": f"835-{k}.x12", "control_number": "1",
                "state": "held" if k == 0 else "posted", "recorded_at": now, "updated_at": now,
                "content_sha256": f"{k:064d}", "partner": "acme",
                "archived_as": f"archive/inbound/acme/835-{k}.x12", "detail": "{}"}
                for k in range(200)])  # fmt: skip
            for start in range(0, n, 1000):
                rows, events, links, pays = [], [], [], []
                for i in range(start, min(n, start + 1000)):
                    record = _record(i, rng)
                    state = rng.choices(["paid", "partially_paid", "denied", "rejected",
                                         "submitted"], [70, 10, 5, 5, 10])[0]  # fmt: skip
                    at = now - timedelta(minutes=n - i)
                    rows.append({"claim_id": record["claim_id"], "version": 1,
                                 "kind": "professional", "frequency": "1", "partner": "acme",
                                 "payer_id": record["payer"]["id"], "state": state,
                                 "record": dumps(record), "created_at": at, "updated_at": at,
                                 **search_fields(record)})  # fmt: skip
                    for event in ("queued", "batched", "submitted", state):
                        events.append({"claim_id": record["claim_id"], "version": 1,
                                       "event": event, "at": at, "source": "bench",
                                       "detail": dumps({"file": "bench"})})  # fmt: skip
                    links.append({"interchange_id": i // 100 + 1,
                                  "claim_id": record["claim_id"], "version": 1})  # fmt: skip
                    if state in ("paid", "partially_paid", "denied") or i < 20:
                        held = i < 20
                        pays.append({
                            "remittance_id": 1 if held else 2, "claim_id": record["claim_id"],
                            "version": 1, "payer_id": record["payer"]["id"],
                            "payer_sequence": "P", "status_code": "1", "charge": "100.00",
                            "paid": "80.00", "patient_responsibility": "20.00",
                            "posting_id": f"posting-{i}-{int(held)}", "balance_id": None,
                            "state": "held" if held else "posted",
                            "detail": dumps({"reasons": [{"reason": "unbalanced",
                                                          "text": "bench"}]} if held else {}),
                            "posting": dumps({"paid": "80.00", "status": "1", "payment": {
                                "payer_id": record["payer"]["id"], "payer_name": "BENCH PAYER"},
                                "adjustments": [{"group": "PR", "reason": "2",
                                                 "amount": "20.00"}]}),
                            "recorded_at": at, "updated_at": at})  # fmt: skip
                c.execute(insert(claims), rows)
                c.execute(insert(claim_events), events)
                c.execute(insert(interchange_claims), links)
                c.execute(insert(claim_payments), pays)
            c.execute(insert(eligibility_requests), [{
                "request_id": f"ELIG-{k:05d}", "partner": "acme", "payer_id": "ACMEH",
                "state": "answered", "record": dumps({"service_date": "2026-12-01"}),
                "answer": dumps({"summary": f"patient {k} is covered", "benefits": [
                    {"text": "Active coverage", "amount": "25.00"}] * 12}),
                "created_at": now, "updated_at": now} for k in range(200)])  # fmt: skip
            for start in range(0, 20_000, 5000):
                c.execute(insert(audit_events), [{
                    "at": now, "username": "bench", "action": "view_claim",
                    "claim_id": f"B{k % n:09d}", "detail": "{}"}
                    for k in range(start, start + 5000)])  # fmt: skip
            if c.dialect.name == "postgresql":
                c.execute(text("ANALYZE"))
        if not url.startswith("postgresql"):
            with ledger.engine.begin() as c:
                c.execute(text("ANALYZE"))
    return {"claim": f"B{n // 2:09d}", "last_name": LAST[7], "payer": PAYERS[1]}


@contextmanager
def serving(home: Path) -> Iterator[tuple[str, int]]:
    """``gateway web`` on the home, in a process of its own (as deployed), on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "gateway.cli.main", "--home", str(home), "web",
               "--port", str(port)]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("gateway web did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) the process has used so far, in ms (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def time_pages(base: str, pid: int, ids: dict[str, str], requests: int) -> list[dict[str, Any]]:
    """p50/p95 of each page over ``requests`` requests (after 3 not counted), and the CPU time
    the server spent per request (what other processes on a busy machine cannot inflate)."""
    import re

    import httpx

    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as http:
        form = http.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text[:300]
        answer = http.post("/login", data={"username": "bench", "password": PASSWORD,
                                           "csrf": token[1]})  # fmt: skip
        assert answer.status_code == 303, answer.text[:300]
        csrf = re.search(r'name="csrf" value="([^"]+)"', http.get("/").text)
        assert csrf
        searches = {
            "search: patient": {"patient": ids["last_name"]},
            "search: patient, first": {"patient": f"{ids['last_name']}, MA"},
            "search: claim id": {"claim_id": ids["claim"][:-2]},
            "search: payer + dates": {
                "payer_id": ids["payer"],
                "served_from": "2026-03-01",
                "served_to": "2026-03-31",
            },
            "search: state": {"state": "rejected"},
        }
        pages: list[tuple[str, str, dict[str, str] | None]] = [
            ("needs attention", "/", None), ("worklist", "/worklist", None),
            ("aging", "/aging", None), ("claims (newest)", "/claims", None),
            *((name, "/claims", {"csrf": csrf[1], **fields}) for name, fields in searches.items()),
            ("claim timeline", f"/claims/{ids['claim']}", None),
            ("payments", "/payments", None), ("held payments", "/review", None),
            ("eligibility", "/eligibility", None),
            ("eligibility answer", "/eligibility/ELIG-00100", None),
            ("partners", "/partners", None),
            ("audit trail", "/audit", None),
        ]  # fmt: skip
        out = []
        for name, path, data in pages:
            times, server = [], []
            cpu = 0.0
            for k in range(requests + 3):
                if k == 3:
                    cpu = cpu_ms(pid)
                t0 = time.perf_counter()
                r = http.post(path, data=data) if data else http.get(path)
                elapsed = (time.perf_counter() - t0) * 1000
                assert r.status_code == 200, (name, r.status_code, r.text[:300])
                if k >= 3:
                    times.append(elapsed)
                    server.append(float(r.headers["server-timing"].partition("dur=")[2]))
            cpu = (cpu_ms(pid) - cpu) / requests
            times.sort()
            rows = r.text.count('href="/claims/')
            out.append({"page": name, "p50_ms": statistics.median(times),
                        "server_p50_ms": statistics.median(server), "cpu_ms": cpu,
                        "p95_ms": times[int(len(times) * 0.95) - 1], "max_ms": times[-1],
                        "bytes": len(r.content), "rows": rows})  # fmt: skip
    return out


def plans(url: str, ids: dict[str, str]) -> dict[str, list[str]]:
    from gateway.ledger.claim_search import ClaimSearch
    from gateway.ledger.db import open_ledger

    asked = {
        "patient": ClaimSearch(patient=ids["last_name"]),
        "claim id": ClaimSearch(claim_id=ids["claim"][:-2]),
    }
    with open_ledger(url) as ledger:
        return {name: ledger.explain_claim_search(s) for name, s in asked.items()}


def run_backend(backend: str, n: int, seed: int, requests: int) -> dict[str, Any]:
    from gateway.home import init_home

    folder = Path(tempfile.mkdtemp(prefix="bench-web-"))
    home = folder / "home"
    init_home(home)
    pg_name = None
    if backend == "postgresql":
        pg_name, url = _pg_database()
        settings = home / "gateway.toml"
        settings.write_text(settings.read_text().replace(
            'url = "sqlite:///state/gateway.db"', f'url = "{url}"'))  # fmt: skip
    else:
        url = f"sqlite:///{home / 'state' / 'gateway.db'}"
    try:
        t0 = time.perf_counter()
        ids = fill(url, n, seed)
        console.print(f"  {backend}: {n:,} claims loaded in {time.perf_counter() - t0:.0f} s "
                      "(not timed)")  # fmt: skip
        with serving(home) as (base, pid):
            pages = time_pages(base, pid, ids, requests)
        return {"backend": backend, "n": n, "pages": pages, "plans": plans(url, ids)}
    finally:
        if pg_name:
            _drop_pg(pg_name)


def uses_index(plan: list[str], index: str) -> bool:
    return any(index in line for line in plan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench web", description=__doc__)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--json", type=Path, default=RESULTS / "latest-web.json")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    opts = parser.parse_args(argv)
    started = time.time()
    runs = [run_backend(b, opts.claims, opts.seed, opts.requests)
            for b in opts.backends.split(",") if b]  # fmt: skip
    out = Console(width=max(Console().width, 110))
    table = Table(title=f"web view pages, {opts.claims:,} claims, {opts.requests} requests each "
                  "over HTTP (ms)")  # fmt: skip
    for col in ("page", *(f"{r['backend']} p50" for r in runs),
                *(f"{r['backend']} p95" for r in runs),
                *(f"{r['backend']} app p50" for r in runs),
                *(f"{r['backend']} CPU" for r in runs), "rows"):  # fmt: skip
        table.add_column(col, justify="left" if col == "page" else "right")
    for k, first in enumerate(runs[0]["pages"]):
        p50 = [f"{r['pages'][k]['p50_ms']:.1f}" for r in runs]
        p95 = [f"{r['pages'][k]['p95_ms']:.1f}" for r in runs]
        app = [f"{r['pages'][k]['server_p50_ms']:.1f}" for r in runs]
        cpu = [f"{r['pages'][k]['cpu_ms']:.1f}" for r in runs]
        table.add_row(first["page"], *p50, *p95, *app, *cpu, str(first["rows"]))
    out.print(table)
    targets = []
    for r in runs:
        worst = max(r["pages"], key=lambda p: p["p95_ms"])
        targets.append({"target": f"{r['backend']}: every page under {TARGET_MS:.0f} ms (p95)",
                        "value": f"slowest {worst['page']}: {worst['p95_ms']:.1f} ms",
                        "ok": worst["p95_ms"] < TARGET_MS})  # fmt: skip
        for name, plan in r["plans"].items():
            out.print(f"[bold]{r['backend']} query plan, claim search by {name}:[/]")
            for line in plan:
                out.print(f"  {line}")
            index = "ix_claims_patient_last_name" if name == "patient" else "pk_claims"
            alt = "sqlite_autoindex_claims_1" if r["backend"] == "sqlite" else index
            targets.append({"target": f"{r['backend']}: search by {name} walks an index",
                            "value": index if uses_index(plan, index) else
                            (alt if uses_index(plan, alt) else "no index"),
                            "ok": uses_index(plan, index) or uses_index(plan, alt)})  # fmt: skip
    verdicts = Table(title="targets")
    for col in ("target", "figure", "result"):
        verdicts.add_column(col)
    for t in targets:
        verdicts.add_row(t["target"], t["value"], "PASS" if t["ok"] else "FAIL")
    out.print(verdicts)
    write_report(opts.json, started, {"claims": opts.claims, "requests": opts.requests,
                                      "runs": runs, "targets": targets}, console)  # fmt: skip
    return 1 if opts.strict and any(not t["ok"] for t in targets) else 0


if __name__ == "__main__":
    raise SystemExit(main())
