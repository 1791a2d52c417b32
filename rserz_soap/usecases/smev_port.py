"""What the use cases need from СМЭВ 3, whoever provides it (the client in ``smev/``, a test double).

Two kinds of failure, as for ФЕРЗЛ: :class:`SmevUnavailable` — СМЭВ did not answer, answered with its
own trouble, or the circuit is open: try again later; :class:`SmevError` — СМЭВ refused what was sent
(a fault about the message itself): trying the same again will not help.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rserz_soap.domain.civil import BirthRecord, CivilPerson, DeathRecord, SnilsAnswer


class SmevUnavailable(Exception):
    pass


class SmevError(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text


@dataclass(frozen=True)
class IncomingZags:
    """A request ЕГР ЗАГС pushed to the ТФОМС, read; ``unreadable`` says why its content could not be."""

    message_id: str
    reply_to: str
    root: str  # FATALZPRequest | ROGDZPRequest
    record_id: str  # ИдСвед, echoed in the receipt
    deaths: tuple[DeathRecord, ...] = ()
    births: tuple[BirthRecord, ...] = ()
    unreadable: str | None = None


class ZagsPort(Protocol):
    def next_incoming(self) -> IncomingZags | None:
        """The next pushed record not yet acknowledged (a record delivered before and not acknowledged
        comes again), or None when the queue is empty."""

    def send_receipt(self, incoming: IncomingZags, receipt_message_id: str, *, taken: bool) -> None:
        """Answer the push; the same ``receipt_message_id`` on every attempt (a repeat is harmless)."""

    def ack(self, message_id: str) -> None:
        """Acknowledge a delivered message; acknowledging one already acknowledged is harmless."""


@dataclass(frozen=True)
class SfrAnswer:
    message_id: str  # of the answer (what Ack names)
    original_message_id: str  # the request it answers
    answer: SnilsAnswer | None
    rejected: str | None = None  # СФР refused the request (a reason)


class SfrPort(Protocol):
    def send(self, message_id: str, kind: str, person: CivilPerson, snils: str | None = None) -> None:
        """Send one СНИЛС request; the same ``message_id`` on every attempt."""

    def next_answer(self) -> SfrAnswer | None: ...

    def ack(self, message_id: str) -> None: ...
