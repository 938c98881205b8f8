"""What a billing admin runs beside the daemon: partners check, claims searches, schemas, review
logs, the simulator on an SFTP partner's folders, one rule for naming a partner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import structlog
from click.testing import CliRunner

from gateway.cli.main import cli
from gateway.daemon.runner import Daemon
from gateway.domain.outputs import SCHEMAS
from gateway.home import init_home
from tests.conftest import REPO, SAMPLES
from tests.daemon.homes import drop_claims, drop_reply, make_home
from tests.daemon.payer import adjudicate, claims_of, remit_835
from tests.sshd import SFTP_PARTNER, Sshd


def gateway(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), *args])
    return result.exit_code, result.output


def _samples() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((SAMPLES / "professional.json").read_text())
    return records


def _sftp_home(sshd: Sshd) -> Path:
    """A home in the sshd's client folder (it holds keys/ and the pinned known_hosts)."""
    home = sshd.home
    init_home(home)
    (home / "partners" / "example.toml").unlink()
    (home / "partners" / "clearing.toml").write_text(
        SFTP_PARTNER.format(port=sshd.port, user=sshd.user, key="id_ed25519")
    )
    return home


def test_partners_check_fails_when_uploads_would_and_says_which_step(sshd: Sshd) -> None:
    home = _sftp_home(sshd)
    command = [sys.executable, "-m", "gateway.cli.main", "--home", str(home), "partners", "check"]
    ok = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (
        "clearinghouse: ok (sftp)" in ok.stdout and "renamed and removed a probe file" in ok.stdout
    )
    assert ok.stderr == ""  # no log line in between its own lines (sftp_connected was one)
    sshd.restart(sftp_flags=["-R"])  # listing still works, writing does not
    failed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert "clearinghouse: FAILED (sftp)" in failed.stdout
    assert "refused to write a probe file" in failed.stdout and "Permission denied" in failed.stdout


def test_one_rule_names_a_partner_for_check_and_build(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    (home / "partners" / "acme.toml").rename(home / "partners" / "clearing.toml")  # name "acme"
    for name in ("acme", "clearing", str(home / "partners" / "clearing.toml")):
        code, out = gateway(home, "partners", "check", name)
        assert code == 0 and "acme: ok (directory)" in out, (name, out)
        target = tmp_path / f"out-{Path(name).stem}.x12"
        code, out = gateway(home, "build", str(SAMPLES / "professional.json"), "-o",
                            str(target), "--partner", name)  # fmt: skip
        assert code == 0, out
    code, out = gateway(home, "partners", "check", "nobody")
    assert code == 2 and "no partner named 'nobody'" in out and "clearing" in out


def test_claims_are_found_by_patient_date_of_service_and_payer(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    first, second = _samples()
    other = dict(first, claim_id="OTHER-1", payer={"id": "99999", "name": "Other Plan"})
    drop_claims(home, "visits.json", [first, second, other])
    Daemon(home).run(once=True)

    def found(*args: str) -> list[str]:
        code, out = gateway(home, "claims", "--json", *args)
        assert code == 0, out
        return sorted(json.loads(line)["claim_id"] for line in out.splitlines())

    assert found("--patient", "doe") == ["OTHER-1", "PCN-2025-0001", "PCN-2025-0002"]
    assert found("--patient", "Doe, Ja") == ["OTHER-1", "PCN-2025-0001"]
    assert found("--from", "2025-03-03", "--to", "2025-03-03") == ["OTHER-1", "PCN-2025-0001"]
    assert found("--from", "2025-03-04") == ["PCN-2025-0002"]
    assert found("--payer", "99999") == ["OTHER-1"]
    code, out = gateway(home, "claims", "--json", "--patient", "doe, jane", "--payer", "ACMEH")
    [row] = [json.loads(line) for line in out.splitlines()]
    assert row["patient"] == {"last_name": "DOE", "first_name": "JANE"}
    assert (row["service_from"], row["service_to"], row["billed"]) == (
        "2025-03-03", "2025-03-03", "175.00",
    )  # fmt: skip
    code, out = gateway(home, "claims", "--from", "2025-13-01")
    assert code == 2  # not a date


@pytest.mark.parametrize("what", ["posting", "balance", "status"])
def test_schema_of_each_record_the_gateway_writes(what: str) -> None:
    code, out = gateway(REPO, "schema", what)
    assert code == 0
    schema = json.loads(out)
    assert schema["title"] == what.capitalize()
    assert {"id", "claim_id"} <= set(schema["required"])
    assert schema == SCHEMAS[what].model_json_schema(mode="serialization")


def test_review_release_and_discard_say_their_event_once(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    drop_claims(home, "visits.json", _samples())
    daemon = Daemon(home)
    daemon.run(once=True)
    [sent] = (home / "exchange" / "in").iterdir()
    text = remit_835([adjudicate(c) for c in claims_of(sent)], trace="T-1")
    drop_reply(home, "odd.835", text.replace("BPR*I*", "BPR*I*1", 1))  # does not add up
    daemon.run(once=True)
    for verdict, option in (("release", "--note"), ("discard", "--reason")):
        claim = "PCN-2025-0001" if verdict == "release" else "PCN-2025-0002"
        with structlog.testing.capture_logs() as logs:
            code, out = gateway(home, "review", verdict, "odd.835", "--claim", claim, option, "ok")
        assert code == 0, out
        said = [e["event"] for e in logs if e["event"].startswith(("payments_", "remittance_"))]
        assert said == [f"payments_{verdict}d" if verdict == "release" else "payments_discarded"]


def test_simulate_serves_an_sftp_partners_folders_as_local_paths(tmp_path: Path) -> None:
    home = tmp_path / "home"
    init_home(home)
    (home / "partners" / "clearing.toml").write_text(
        SFTP_PARTNER.format(port=22, user="p", key="k")
    )
    root = tmp_path / "sftp-account"
    (root / "inbound").mkdir(parents=True)
    built = root / "inbound" / "acme-837P-000000001.x12"
    code, out = gateway(home, "build", str(SAMPLES / "professional.json"), "-o", str(built),
                        "--partner", "example")  # fmt: skip
    assert code == 0, out
    code, out = gateway(home, "simulate", "--partner", "clearinghouse", "--once")
    assert code == 2 and "give --sftp-root" in out
    code, out = gateway(home, "simulate", "--partner", "clearing", "--sftp-root", str(root),
                        "--once", "--config", str(home / "simulator.toml"))  # fmt: skip
    assert code == 0, out
    replies = sorted(p.name.split("-")[0] for p in (root / "outbound").iterdir())
    assert replies == ["277CA", "835", "999", "TA1"]
    assert [p.name for p in (root / "inbound" / "processed").iterdir()] == [built.name]


def test_the_claims_gauge_says_zero_for_a_state_no_claim_is_in_any_more() -> None:
    from gateway.daemon.metrics import Metrics
    from gateway.daemon.runner import CycleReport

    metrics = Metrics()
    metrics.record(CycleReport(), 0.1, {}, {"submitted": 16})
    metrics.record(CycleReport(), 0.1, {}, None)  # not counted this cycle: unchanged
    assert metrics.registry.get_sample_value("gateway_claims", {"state": "submitted"}) == 16
    metrics.record(CycleReport(), 0.1, {}, {"paid": 10})
    value = metrics.registry.get_sample_value
    assert value("gateway_claims", {"state": "submitted"}) == 0
    assert value("gateway_claims", {"state": "paid"}) == 10
    assert value("gateway_claims", {"state": "batched"}) == 0


def test_a_directory_partner_check_says_which_step_fails() -> None:
    """A folder one may list but not write. Root writes anywhere, so as root the check runs
    in a child that has become an unprivileged user (nobody)."""
    from gateway.transports.directory import DirectoryTransport

    up = Path(tempfile.mkdtemp(prefix="gateway-check-"))
    down = up / "out"
    down.mkdir()
    down.chmod(0o777)
    up.chmod(0o555)  # listable, not writable
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child reports through the pipe, whatever happens
        os.close(read)
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            DirectoryTransport(up, down).check()
            message = "ok"
        except BaseException as exc:
            message = f"{type(exc).__name__}: {exc}"
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(child, 0)
    up.chmod(0o755)
    shutil.rmtree(up)
    assert message.startswith("PermanentTransportError: the upload folder"), message
    assert "refused to write a probe file" in message and "Permission denied" in message
