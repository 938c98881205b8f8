"""What the simulator remembers between steps, in one JSON file replaced atomically.

Files seen (name + SHA-256), interchange control numbers used, the claims it accepted with
their payments, each member's deductible and out-of-pocket totals, the 835 work still to do
(with the time it is due), forwarded provider balances and the counters behind every number it
hands out. Replies are written before the state is saved and inbound files are moved after:
a crash in between makes the next step answer the file again (a reply may come twice, as with
real partners), never lose one.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from gateway.files import write_atomic
from gateway.simulator.model import Accumulator, Adjudication, ClaimIn, Route

STATE_VERSION = 1
MAX_CONTROL = 999_999_999


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimRecord(_Model):
    """A claim the payer accepted, and what became of it.

    ``pending``: waiting for adjudication; ``paid``: its payment (``payment``) stands;
    ``voided`` / ``replaced``: a later claim took it back; ``closed``: the void request itself.
    """

    key: str  # the first payer claim number it was given
    claim: ClaimIn
    route: Route
    payer_claim_number: str  # the current CLP07 (a correction gets a new one)
    received: date
    status: Literal["pending", "paid", "voided", "replaced", "closed"] = "pending"
    payment: Adjudication | None = None
    paid_step: int | None = None
    silent: bool = False  # not adjudicated until a 276 asks about it ([silence])


Action = Literal["adjudicate", "void", "replace", "correct"]


class Pending(_Model):
    """835 work due at ``due`` and not before step ``earliest_step``.

    ``adjudicate``: pay claim ``key``; ``void``: reverse the payment of ``key``; ``replace``:
    reverse ``target`` and pay ``key``; ``correct``: reverse ``key`` and pay it again.
    """

    seq: int
    action: Action
    key: str
    target: str | None = None
    due: datetime
    earliest_step: int = 0


class ForwardBalance(_Model):
    """Money a payee owes the payer, carried from an 835 that would have paid less than 0."""

    amount: Decimal
    reference: str


class SeenFile(_Model):
    name: str
    sha256: str
    step: int


class Counters(_Model):
    control: int = 0  # ISA13 = GS06 of every reply
    payer_claim: int = 0
    trace: int = 0  # 835 TRN02
    clearinghouse_trace: int = 0  # 277CA REF*D9
    sequence: int = 0  # order of pending work
    eligibility_trace: int = 0  # 271 TRN*1 (the payer's own trace)


class State(_Model):
    version: int = STATE_VERSION
    step: int = 0
    counters: Counters = Counters()
    files: list[SeenFile] = []
    interchanges: dict[str, str] = {}  # "qualifier|sender|ISA13" → file SHA-256
    submissions: dict[str, int] = {}  # claim id → times received (seeds random rejections)
    accumulators: dict[str, Accumulator] = {}  # "payer|member" → totals
    claims: dict[str, ClaimRecord] = {}
    payer_claims: dict[str, str] = {}  # every payer claim number given → claim key
    pending: list[Pending] = []
    forward_balances: dict[str, ForwardBalance] = {}  # "payer|payee NPI"

    def next_control(self) -> int:
        c = self.counters
        c.control = c.control % MAX_CONTROL + 1
        return c.control

    def next_sequence(self) -> int:
        self.counters.sequence += 1
        return self.counters.sequence

    def seen(self, name: str, sha256: str) -> bool:
        return any(f.name == name and f.sha256 == sha256 for f in self.files)


def load_state(path: Path) -> State:
    """The saved state, or a fresh one when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return State()
    state = State.model_validate_json(text)
    if state.version != STATE_VERSION:
        raise ValueError(f"{path}: state version {state.version}, expected {STATE_VERSION}")
    return state


def save_state(path: Path, state: State) -> None:
    """Write under a dot name, fsync, rename: a crash leaves the old state or the new one."""
    write_atomic(path, state.model_dump_json(indent=1).encode("utf-8"))
