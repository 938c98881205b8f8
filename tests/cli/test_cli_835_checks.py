"""``gateway validate`` and ``gateway parse`` find the same faults in an 835, as a user tries them:
a BPR02 off by a cent, an SE01 that miscounts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import run

BALANCE = (
    "not balanced: transaction 0001: claims pay 90 - provider adjustments 0 = 90, but BPR02 "
    "says 90.01 (off by 0.01)"
)


def _edited(examples: Path, tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (examples / "example-835.x12").read_text()
    assert text.count(old) == 1
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return path


def test_validate_reports_the_balancing_error_parse_reports(examples: Path, tmp_path: Path) -> None:
    path = _edited(examples, tmp_path, "remit.835", "BPR*I*90*", "BPR*I*90.01*")
    code, out, err = run("parse", str(path))
    assert code == 1
    assert f"remit.835: {BALANCE}" in err.splitlines()
    assert json.loads(out)["payments"][0]["balanced"] is False
    code, out, _ = run("validate", str(path))
    assert code == 1
    assert out.splitlines() == [f"remit.835: segment 3: {BALANCE}"]  # 3: the ST it belongs to
    code, out, _ = run("validate", "--json", str(path))
    [problem] = json.loads(out)[str(path)]
    assert problem == {"message": BALANCE, "file": "remit.835", "segment_index": 3}


def test_a_balanced_835_is_still_ok(examples: Path) -> None:
    for name in ("example-835.x12", "example-835-reversal.x12"):
        code, out, _ = run("validate", str(examples / name))
        assert (code, out) == (0, f"{examples / name}: OK\n")


def test_parse_reports_a_wrong_se01_as_validate_does(examples: Path, tmp_path: Path) -> None:
    path = _edited(examples, tmp_path, "remit.835", "SE*28*0001~", "SE*27*0001~")
    fault = "remit.835: segment 30 (SE): SE01 says 27 segments but transaction set 0001 has 28"
    code, out, err = run("parse", str(path))
    assert code == 1
    assert err.splitlines() == [fault]
    assert json.loads(out)["payments"][0]["claim_count"] == 1  # the data is still shown
    code, out, _ = run("validate", "--no-pyx12", str(path))
    assert code == 1 and out.splitlines() == [fault]


def test_parse_reports_envelope_faults_of_every_kind(examples: Path, tmp_path: Path) -> None:
    text = (examples / "example-999.x12").read_text()
    assert text.count("IEA*1*") == 1
    path = tmp_path / "ack.999"
    path.write_text(text.replace("IEA*1*", "IEA*2*"))
    code, out, err = run("parse", str(path))
    assert code == 1
    assert json.loads(out)["transaction"] == "999"
    assert "ack.999: segment" in err and "IEA01" in err
