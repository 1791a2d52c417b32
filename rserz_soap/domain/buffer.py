"""The buffer's vocabulary: states of an incoming change, the moves allowed between them, and a protocol.

Every change a participant sends waits in the buffer until it is checked, decided and applied. Which
state may follow which is a table (:data:`TRANSITIONS`), not a convention of the code that moves entries:
a move the table does not allow raises :class:`IllegalTransition`, so a bug cannot, say, apply a rejected
change or take an applied one back to review.

    received ──► checked ──► accepted ──► applied
        │           │  ▲         │  └──► awaiting_federal ──► applied
        │           ▼  │         │                     └───► rejected
        │     awaiting_review    │
        └──────────►┴────────────┴──────► rejected
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    RECEIVED = "received"
    CHECKED = "checked"
    AWAITING_REVIEW = "awaiting_review"
    ACCEPTED = "accepted"
    AWAITING_FEDERAL = "awaiting_federal"
    REJECTED = "rejected"
    APPLIED = "applied"


TRANSITIONS: dict[State, frozenset[State]] = {
    State.RECEIVED: frozenset({State.CHECKED, State.REJECTED}),
    State.CHECKED: frozenset({State.AWAITING_REVIEW, State.ACCEPTED, State.REJECTED}),
    State.AWAITING_REVIEW: frozenset({State.ACCEPTED, State.REJECTED}),
    # an accepted change is checked again when it is applied (after a crash, or once ФЕРЗЛ agreed)
    State.ACCEPTED: frozenset({State.AWAITING_FEDERAL, State.APPLIED, State.REJECTED}),
    State.AWAITING_FEDERAL: frozenset({State.APPLIED, State.REJECTED}),
    State.REJECTED: frozenset(),
    State.APPLIED: frozenset(),
}

FINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
PENDING = frozenset(State) - FINAL
#: states a worker may take an entry up from (the others wait for an operator or for ФЕРЗЛ)
RESUMABLE = frozenset({State.RECEIVED, State.CHECKED, State.ACCEPTED})

ACCEPTED_CODE = "AA"  # CODE_ERP: accepted and applied
ERROR_CODE = "AE"  # rejected by ФЛК or by the operation's rules
REJECTED_CODE = "AR"  # rejected by a ТФОМС decision

WRONG_SUBMITTER = "590"  # the record's СМО is not the participant that sent it
FEDERAL_REJECTED = "591"  # the federal register refused the change


class IllegalTransition(Exception):
    """A move the buffer's table does not allow: a bug, never a participant's error."""

    def __init__(self, entry_id: int, old: State, new: State) -> None:
        super().__init__(f"buffer entry {entry_id}: {old.value} → {new.value} is not allowed")
        self.entry_id = entry_id
        self.old = old
        self.new = new


@dataclass
class Trail:
    """The moves of one entry in one transaction, written together when the entry settles."""

    entry_id: int
    state: State
    moves: list[tuple[State, State, str, str | None]] = field(default_factory=list)

    def move(self, new: State, actor: str, reason: str | None) -> None:
        if new not in TRANSITIONS[self.state]:
            raise IllegalTransition(self.entry_id, self.state, new)
        self.moves.append((self.state, new, actor, reason))
        self.state = new


@dataclass(frozen=True)
class Submitter:
    """Who sent a change: a participant of the exchange by its registry code."""

    participant_id: int
    kind: str  # smo, mo, tfoms …
    code: str

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.code}"


@dataclass(frozen=True)
class RecordResult:
    """One REPLIST line: the outcome of one record, final or not yet."""

    entry_id: int
    n_rec: int
    record_id: str | None
    state: State
    code_erp: str | None
    comment: str
    person_id: int | None = None
    enp: str | None = None
    insurance: dict[str, Any] | None = None  # the encoded InsurancePeriod in force after the change
    errors: tuple[dict[str, Any], ...] = ()  # encoded FlkError findings (warnings too)
    conflicts: tuple[str, ...] = ()

    @property
    def final(self) -> bool:
        return self.state in FINAL


@dataclass(frozen=True)
class BatchProtocol:
    """The answer to a batch of operations: every record's line, in the order they were sent."""

    batch_id: str
    request_id: str | None
    file_name: str | None
    received_at: datetime
    lines: tuple[RecordResult, ...]

    @property
    def pending(self) -> int:
        return sum(1 for r in self.lines if not r.final)
