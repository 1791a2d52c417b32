"""Attachment of insured persons to МО: attach, detach, and repair of double attachments.

Why "at most one active attachment per area type" is enforced here and not by a database constraint: the
register receives attachments from files, from ФЕРЗЛ and from legacy loads, and some of those break the
rule. A unique index would make such data impossible to load, and so impossible to see and repair; instead
every attachment made through this module keeps the rule (a new attachment closes the previous one of its
area type on its first day), :func:`find_double_attachments` reports what arrived broken, and
:func:`close_double_attachments` repairs it through the same versioned path as every other change.

Dates are valid time: an attachment is in force from ``date_in`` up to the day before ``date_out``
(:meth:`Attachment.active_on`), so closing the old one with ``date_out = date_in`` of the new one leaves
neither a gap nor a day counted twice in the МО's numbers.

Every change is one new version of the person, in the caller's unit of work.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from rserz_soap.db.persons import SavedVersion, VersionMeta
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.person import Attachment, PersonCard, Status
from rserz_soap.usecases.once import RequestKey, once

__all__ = [
    "ATTACH",
    "DETACH",
    "FIX_DOUBLE",
    "AttachResult",
    "AttachmentError",
    "ChangeSource",
    "DetachResult",
    "DoubleAttachment",
    "attach",
    "close_double_attachments",
    "detach",
    "find_double_attachments",
]

ATTACH: Final = "ATTACH"
DETACH: Final = "DETACH"
FIX_DOUBLE: Final = "ATTACH_DOUBLE"

# Refusal codes (machine-readable; adapters map them to their error directories).
PERSON_INACTIVE: Final = "person_inactive"
PERSON_DEAD: Final = "person_dead"
BEFORE_BIRTH: Final = "before_birth"
UNKNOWN_MO: Final = "unknown_mo"
NEWER_ATTACHMENT: Final = "newer_attachment"
NO_ATTACHMENT: Final = "no_attachment"
BAD_DATES: Final = "bad_dates"
NOT_INSURED: Final = "not_insured"

#: The contract's ERR_CODE of each refusal (docs/soap-contract.md "Results and errors"): ФЛК codes where the
#: error directory has one, the attachment service's own 601–604 otherwise.
REFUSAL_CODES: Final = {
    PERSON_INACTIVE: "512",
    PERSON_DEAD: "503",
    UNKNOWN_MO: "414",
    BEFORE_BIRTH: "601",
    NEWER_ATTACHMENT: "602",
    NO_ATTACHMENT: "603",
    BAD_DATES: "604",
    NOT_INSURED: "605",
}

#: Statuses whose card no longer describes a living, distinct person: nothing may be attached to them.
_INACTIVE: Final = frozenset({Status.MERGED, Status.ANNULLED})


class AttachmentError(Exception):
    """An attachment change refused; nothing was written. The message names no internal identifier: it
    goes to the participant as it is."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ChangeSource:
    """Who asks for the change: an МО by its F003 code, ФЕРЗЛ, or a ТФОМС operator (the default kind)."""

    kind: str = "tfoms"
    code: str = "operator"
    actor: str | None = None
    reason: str | None = None
    buffer_entry_id: int | None = None

    def meta(self, operation: str, valid_from: date) -> VersionMeta:
        return VersionMeta(
            operation,
            self.kind,
            self.code,
            valid_from,
            actor=self.actor,
            buffer_entry_id=self.buffer_entry_id,
            reason=self.reason,
        )


@dataclass(frozen=True)
class AttachResult:
    person_id: int
    attachment: Attachment
    closed: tuple[Attachment, ...]  # the previous attachments of the area type, as closed
    version: SavedVersion | None  # None: the same attachment was already in force (a repeated request)


@dataclass(frozen=True)
class DetachResult:
    person_id: int
    attachment: Attachment  # as closed
    version: SavedVersion | None  # None: it was already closed on that date (a repeated request)


@dataclass(frozen=True)
class DoubleAttachment:
    person_id: int
    area_type: int
    attachments: tuple[Attachment, ...]  # oldest first


def attach(
    uow: UnitOfWork,
    person_id: int,
    mo_code: str,
    area_type: int,
    date_in: date,
    method: int,
    *,
    section: str | None = None,
    doctor_snils: str | None = None,
    source: ChangeSource,
) -> AttachResult:
    """Attach the person to ``mo_code`` for ``area_type`` from ``date_in``, closing the previous one.

    Refused: a merged or annulled card; a dead person; a person not insured on ``date_in``; ``date_in``
    before birth; an МО that F003 does not
    list on ``date_in`` (an МО that left ОМС cannot take patients, even if its code is still known); an
    attachment of the area type that starts after ``date_in`` (inserting one into the past would rewrite
    the МО's history — detach or correct that one first). The same attachment requested again changes
    nothing, so a participant may safely repeat a request whose answer it lost.
    """
    with uow:
        return _attach(uow, person_id, mo_code, area_type, date_in, method, section, doctor_snils, source)


def _attach(
    uow: UnitOfWork,
    person_id: int,
    mo_code: str,
    area_type: int,
    date_in: date,
    method: int,
    section: str | None,
    doctor_snils: str | None,
    source: ChangeSource,
) -> AttachResult:
    stored = uow.persons.load(person_id, for_update=True)
    card = stored.card
    _require_active(card)
    if card.status is Status.DEAD or card.ddeath is not None:
        raise AttachmentError(PERSON_DEAD, "ЗЛ умерло: прикрепление невозможно")
    if date_in < card.data.dr:
        raise AttachmentError(BEFORE_BIRTH, f"DATE_IN {date_in} раньше даты рождения ЗЛ")
    if uow.nsi.record_on("F003", mo_code, date_in) is None:
        raise AttachmentError(UNKNOWN_MO, f"МО {mo_code} отсутствует в F003 на {date_in}")
    if not card.insured_on(date_in):
        raise AttachmentError(NOT_INSURED, f"ЗЛ не застраховано в ОМС на DATE_IN {date_in}")
    new = Attachment(mo_code, area_type, date_in, method, section=section, doctor_snils=doctor_snils)
    if new in card.attachments:
        return AttachResult(person_id, new, (), None)
    current = [a for a in card.attachments if a.area_type == area_type and _open_on(a, date_in)]
    later = [a for a in current if a.date_in > date_in]
    if later:
        raise AttachmentError(
            NEWER_ATTACHMENT,
            f"прикрепление по типу участка {area_type} начинается {later[0].date_in}, позже DATE_IN {date_in}",
        )
    closed = {a: dataclasses.replace(a, date_out=date_in) for a in current}
    after = card.replace(attachments=frozenset({*(closed.get(a, a) for a in card.attachments), new}))
    version = uow.persons.save(stored, after, source.meta(ATTACH, date_in))
    return AttachResult(person_id, new, tuple(_oldest_first(closed.values())), version)


def detach(
    uow: UnitOfWork, person_id: int, mo_code: str, area_type: int, date_out: date, *, source: ChangeSource
) -> DetachResult:
    """End the person's open attachment to ``mo_code`` for ``area_type`` on ``date_out``.

    F003 is not consulted: an МО that left ОМС must still be able to let its patients go. A dead person
    may be detached (death closes attachments anyway); a merged or annulled card may not be changed.
    """
    with uow:
        return _detach(uow, person_id, mo_code, area_type, date_out, source)


def _detach(
    uow: UnitOfWork, person_id: int, mo_code: str, area_type: int, date_out: date, source: ChangeSource
) -> DetachResult:
    stored = uow.persons.load(person_id, for_update=True)
    card = stored.card
    _require_active(card)
    mine = [a for a in card.attachments if a.mo_code == mo_code and a.area_type == area_type]
    open_ = [a for a in mine if a.date_out is None]
    if not open_:
        done = [a for a in mine if a.date_out == date_out]
        if done:
            return DetachResult(person_id, done[0], None)
        raise AttachmentError(
            NO_ATTACHMENT, f"нет действующего прикрепления к МО {mo_code} по типу участка {area_type}"
        )
    current = max(open_, key=_latest)  # one, unless the data is broken: then the latest one goes
    if date_out < current.date_in:
        raise AttachmentError(BAD_DATES, f"DATE_OUT {date_out} раньше начала прикрепления {current.date_in}")
    closed = dataclasses.replace(current, date_out=date_out)
    after = card.replace(attachments=frozenset(closed if a == current else a for a in card.attachments))
    version = uow.persons.save(stored, after, source.meta(DETACH, date_out))
    return DetachResult(person_id, closed, version)


def find_double_attachments(uow: UnitOfWork) -> list[DoubleAttachment]:
    """Persons with more than one open attachment of one area type (current rows), by person and type."""
    with uow:
        doubles = uow.attachments.doubles()
    return [DoubleAttachment(pid, area, tuple(found)) for (pid, area), found in doubles.items()]


def close_double_attachments(
    uow: UnitOfWork, *, actor: str, keep: Literal["latest"] = "latest", reason: str | None = None
) -> int:
    """Close all but the latest (by ``date_in``) open attachment of each area type; returns how many closed.

    The latest is kept because it is the person's most recent choice — the same outcome :func:`attach`
    would have produced had they arrived through it: each older one is closed on the kept one's
    ``date_in``. On equal ``date_in`` the order is arbitrary but fixed (МО code, section, doctor), so a
    rerun decides the same way. One version per person, saved as operation ``ATTACH_DOUBLE``.
    """
    if keep != "latest":
        raise ValueError(f"unsupported keep={keep!r}")
    source = ChangeSource(actor=actor, reason=reason or "double attachment closed")
    closed_total = 0
    with uow:
        for person_id in sorted({d.person_id for d in find_double_attachments(uow)}):
            closed_total += _close_doubles(uow, person_id, source)
    return closed_total


def _close_doubles(uow: UnitOfWork, person_id: int, source: ChangeSource) -> int:
    stored = uow.persons.load(person_id, for_update=True)  # ascending ids: the common lock order
    card = stored.card
    replaced: dict[Attachment, Attachment] = {}
    open_ = [a for a in card.attachments if a.date_out is None]
    for area_type in sorted({a.area_type for a in open_}):
        group = [a for a in open_ if a.area_type == area_type]
        if len(group) < 2:
            continue
        kept = max(group, key=_latest)
        replaced.update({a: dataclasses.replace(a, date_out=kept.date_in) for a in group if a != kept})
    if not replaced:
        return 0  # repaired since the query (another transaction or a rerun)
    after = card.replace(attachments=frozenset(replaced.get(a, a) for a in card.attachments))
    valid_from = min(a.date_out for a in replaced.values() if a.date_out is not None)
    uow.persons.save(stored, after, source.meta(FIX_DOUBLE, valid_from))
    return len(replaced)


def _require_active(card: PersonCard) -> None:
    if card.status in _INACTIVE:
        raise AttachmentError(PERSON_INACTIVE, "запись ЗЛ аннулирована или объединена с другой")


def _open_on(a: Attachment, day: date) -> bool:
    """Not yet ended on ``day``: still open, or ending after it (an attachment that must be cut short)."""
    return a.date_out is None or a.date_out > day


def _latest(a: Attachment) -> tuple[date, str, str, str]:
    return (a.date_in, a.mo_code, a.section or "", a.doctor_snils or "")


def _oldest_first(items: Iterable[Attachment]) -> list[Attachment]:
    return sorted(items, key=_latest)


# -- an МО's request by ЕНП (the SOAP attachment service), answered once per REQUEST_ID -------------------


@dataclass(frozen=True)
class AttachmentAnswer:
    """What an МО is told: the person's open attachments after the change, or why nothing changed."""

    found: bool  # a person has this ЕНП
    enp: str | None = None  # the person's main ЕНП
    person_id: int | None = None
    refusal: str | None = None  # an :class:`AttachmentError` code
    message: str | None = None
    attachments: tuple[Attachment, ...] = ()  # in force after the change


def attach_by_enp(
    uow: UnitOfWork,
    key: RequestKey,
    enp: str,
    mo_code: str,
    area_type: int,
    date_in: date,
    method: int,
    *,
    section: str | None = None,
    doctor_snils: str | None = None,
    source: ChangeSource,
) -> AttachmentAnswer:
    def change(person_id: int) -> None:
        _attach(uow, person_id, mo_code, area_type, date_in, method, section, doctor_snils, source)

    return _by_enp(uow, key, enp, change)


def detach_by_enp(
    uow: UnitOfWork,
    key: RequestKey,
    enp: str,
    mo_code: str,
    area_type: int,
    date_out: date,
    *,
    source: ChangeSource,
) -> AttachmentAnswer:
    def change(person_id: int) -> None:
        _detach(uow, person_id, mo_code, area_type, date_out, source)

    return _by_enp(uow, key, enp, change)


def _by_enp(uow: UnitOfWork, key: RequestKey, enp: str, change: Callable[[int], object]) -> AttachmentAnswer:
    def work(_repeat: bool) -> AttachmentAnswer:
        person_id = uow.persons.find_by_enp(enp)
        if person_id is None:
            return AttachmentAnswer(found=False)
        try:
            change(person_id)
        except AttachmentError as exc:  # refused before anything was written
            return AttachmentAnswer(True, refusal=exc.code, message=exc.message)
        card = uow.persons.load(person_id).card
        in_force = sorted(
            (a for a in card.attachments if a.date_out is None), key=lambda a: (a.area_type, a.date_in)
        )
        return AttachmentAnswer(True, card.enp, person_id, attachments=tuple(in_force))

    with uow:
        return once(uow, key, AttachmentAnswer, work)
