"""Deaths and births from ЕГР ЗАГС: take each push once, match, apply, answer, acknowledge.

Exactly once, across worker kills, duplicate deliveries and СМЭВ faults — the argument, step by step:

1. **Store and apply, in one transaction.** A delivered push is inserted into the inbox by its MessageID
   (``db/smev.py``); a repeated delivery of the same MessageID finds the row and only counts a delivery.
   The row is locked; only a row still ``received`` is applied, and the same transaction moves it to
   ``applied`` / ``review`` / ``refused`` with what each act record did. A crash before the commit
   leaves nothing (СМЭВ delivers the push again); after it, the push is never applied again.
   Deaths go through ``vital.record_death`` / ``vital.cancel_death`` — a death ФЕРЗЛ already told is a
   confirmation there, not a second application.
3. **Receipt.** The receipt's MessageID was fixed when the row was stored; a resend after a lost answer
   carries the same one and СМЭВ answers ``MessageIsAlreadySent``, which the client takes as success.
4. **Ack** only after 1–3. A crash before the Ack means СМЭВ delivers again: step 1 finds the row,
   nothing is applied, the receipt (if it went) is not sent again, the Ack is given. An Ack СМЭВ no
   longer knows is harmless; that receipt and Ack went is recorded after both, in one transaction.

Every run first finishes the inbox's leftovers (stored but not answered or acknowledged), then
takes new pushes until the queue is empty or ``limit`` is reached.

Matching an act record to a person: the identity document with the full name and birth date; then the
full name and birth date alone; a record that still names no one, or several, is held for an operator
(the inbox's review list, with similar names as candidates) and nothing is applied until they decide
(:func:`resolve`). A newborn has no ЕНП, so it cannot be a ``person`` yet: it is kept in ``newborn``
until a policy is chosen (П010 with the child's data), with the mother found in the register if she is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rserz_soap.db.search import name_key
from rserz_soap.db.smev import InboxRow, NewNewborn
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.civil import ActStatus, BirthRecord, CivilPerson, DeathRecord
from rserz_soap.domain.codec import decode, encode
from rserz_soap.domain.operations import OperationRefused
from rserz_soap.usecases import vital
from rserz_soap.usecases.smev_port import IncomingZags, ZagsPort

ACTOR = "smev:zags"
#: similar persons offered to the operator for a record that names no one (trigram similarity)
CANDIDATE_THRESHOLD = 0.5
MAX_CANDIDATES = 5


class NotHeld(ValueError):
    """The act record is not (or no longer) waiting for an operator."""


@dataclass
class PollReport:
    taken: int = 0  # messages delivered by СМЭВ in this run (repeats included)
    repeated: int = 0  # of which already in the inbox
    finished: int = 0  # leftovers of earlier runs finished
    applied: int = 0  # act records that changed the register or registered a newborn
    confirmed: int = 0  # deaths already recorded (another source, or a repeat)
    held: int = 0  # act records waiting for an operator
    refused: int = 0  # unreadable pushes (receipt with КодОбр 2)
    by_result: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    person_id: int | None
    key: str  # document | name_dr | none | several
    candidates: tuple[int, ...] = ()


def poll(uow: UnitOfWork, port: ZagsPort, *, limit: int = 500) -> PollReport:
    """Finish the inbox's leftovers, then take pushes until none wait or ``limit`` were taken.

    Raises ``SmevUnavailable`` when СМЭВ cannot be reached; what was done until then stays done."""
    report = PollReport()
    with uow:
        leftovers = uow.smev_inbox.unfinished(limit)
    for message_id in leftovers:
        _answer(uow, port, message_id, delivered_now=False)
        report.finished += 1
    while report.taken < limit:
        incoming = port.next_incoming()
        if incoming is None:
            break
        report.taken += 1
        with uow:  # stored and applied in one transaction: both happen, or neither
            row = uow.smev_inbox.store(
                incoming.message_id, incoming.root, incoming.record_id, incoming.reply_to, _payload(incoming)
            )
            if row.deliveries > 1:
                report.repeated += 1
            _apply_stored(uow, incoming.message_id, report)
        _answer(uow, port, incoming.message_id, delivered_now=True)
    return report


def _payload(incoming: IncomingZags) -> dict[str, Any]:
    return {
        "deaths": encode(incoming.deaths),
        "births": encode(incoming.births),
        "unreadable": incoming.unreadable,
    }


def _apply_stored(uow: UnitOfWork, message_id: str, report: PollReport) -> None:
    """Step 2 for a stored push still ``received``; a push decided before is left as it is."""
    with uow:
        row = uow.smev_inbox.get(message_id, for_update=True)
        if row is None or row.state != "received":
            return
        state, results = _apply(uow, row)
        uow.smev_inbox.decided(message_id, state, results)
        _count(report, state, results)


def _answer(uow: UnitOfWork, port: ZagsPort, message_id: str, *, delivered_now: bool) -> None:
    """Steps 3–4: the receipt unless it went before, and the Ack — always for a message СМЭВ has just
    delivered (again), otherwise unless given before. A leftover still ``received`` is applied first."""
    with uow:
        _apply_stored(uow, message_id, PollReport())
        row = uow.smev_inbox.get(message_id)
    if row is None:
        return
    if not row.receipt_sent:
        incoming = IncomingZags(row.message_id, row.reply_to, row.root, row.record_id or "")
        port.send_receipt(incoming, row.receipt_message_id, taken=row.state != "refused")
    if delivered_now or not row.acked:
        port.ack(message_id)
    if not (row.receipt_sent and row.acked):
        with uow:
            uow.smev_inbox.answered(message_id)


def _count(report: PollReport, state: str, results: list[dict[str, Any]]) -> None:
    if state == "refused":
        report.refused += 1
    for r in results:
        result = str(r["result"])
        report.by_result[result] = report.by_result.get(result, 0) + 1
        if result in ("applied", "newborn", "newborn_cancelled"):
            report.applied += 1
        elif result == "confirmed":
            report.confirmed += 1
        elif result == "review":
            report.held += 1


def _apply(uow: UnitOfWork, row: InboxRow) -> tuple[str, list[dict[str, Any]]]:
    payload = row.payload or {}
    if payload.get("unreadable"):
        return "refused", [{"kind": row.root, "result": "refused", "why": payload["unreadable"]}]
    results: list[dict[str, Any]] = []
    for d in payload.get("deaths") or []:
        results.append(_death(uow, decode(DeathRecord, d)))
    for b in payload.get("births") or []:
        results.append(_birth(uow, decode(BirthRecord, b)))
    return ("review" if any(r["result"] == "review" for r in results) else "applied"), results


# --- deaths -------------------------------------------------------------------------------------------


def _death(uow: UnitOfWork, record: DeathRecord) -> dict[str, Any]:
    base: dict[str, Any] = {"kind": "death", "act": record.act_number, "status": record.status.value}
    match = match_person(uow, record.person)
    if match.person_id is None:
        why = "several persons match" if match.key == "several" else "no person matches"
        return base | {"result": "review", "why": why, "candidates": list(match.candidates)}
    return base | _apply_death(uow, record, match.person_id, match.key)


def _apply_death(uow: UnitOfWork, record: DeathRecord, person_id: int, key: str) -> dict[str, Any]:
    if record.status is ActStatus.IN_FORCE and uow.smev_inbox.act_cancelled(
        record.act_number, record.act_date
    ):
        # the annulment came first (a redelivered push overtaken by the one that cancels it)
        return {"person_id": person_id, "key": key, "result": "cancelled_before"}
    source = vital.EventSource("zags", record.reference, ACTOR)
    try:
        with uow.savepoint():
            if record.status is ActStatus.CANCELLED:
                outcome = vital.cancel_death(uow, person_id, source)
            else:
                outcome = vital.record_death(uow, person_id, record.ddeath, source)
    except (OperationRefused, ValueError) as exc:  # the register cannot take it as it is: an operator decides
        return {
            "person_id": person_id,
            "key": key,
            "result": "review",
            "why": str(exc)[:300],
            "candidates": [person_id],
        }
    result = {"person_id": person_id, "key": key, "result": outcome.value}
    if outcome is vital.Outcome.CONFLICT:  # the register holds another death date: an operator decides
        result |= {
            "result": "review",
            "why": "the register holds another death date",
            "candidates": [person_id],
        }
    return result


def match_person(uow: UnitOfWork, p: CivilPerson) -> Match:
    """The one person an act record names: document + name + birth date, then name + birth date."""
    with uow:
        wanted = name_key(p.fam, p.im, p.ot)
        if p.document is not None:
            by_doc = uow.search.by_document(p.document.doctype, p.document.docser, p.document.docnum)
            cards = uow.persons.load_many(by_doc)
            same = [
                pid
                for pid, c in cards.items()
                if c.data.dr == p.dr and name_key(c.data.fam, c.data.im, c.data.ot) == wanted
            ]
            if len(same) == 1:
                return Match(same[0], "document")
        by_name = uow.search.by_name(p.fam, p.im, p.ot, p.dr)
        if len(by_name) == 1:
            return Match(by_name[0], "name_dr")
        if len(by_name) > 1:
            return Match(None, "several", tuple(by_name[:MAX_CANDIDATES]))
        close = uow.search.fuzzy_by_name(
            p.fam, p.im, p.ot, dr=p.dr, threshold=CANDIDATE_THRESHOLD, limit=MAX_CANDIDATES
        )
        return Match(None, "none", tuple(m.person_id for m in close))


# --- births -------------------------------------------------------------------------------------------


def _birth(uow: UnitOfWork, record: BirthRecord) -> dict[str, Any]:
    base: dict[str, Any] = {"kind": "birth", "act": record.act_number, "status": record.status.value}
    if record.status is ActStatus.CANCELLED:
        cancelled = uow.newborns.cancel(record.act_number, record.act_date)
        return base | {"result": "newborn_cancelled" if cancelled else "not_registered"}
    mother_id = match_person(uow, record.mother).person_id if record.mother is not None else None
    child = record.child
    added = uow.newborns.add(
        NewNewborn(
            message_id=record.message_id,
            act_number=record.act_number,
            act_date=record.act_date,
            office=record.office,
            fam=child.fam,
            im=child.im,
            ot=child.ot,
            w=child.w,
            dr=child.dr,
            birth_place=record.birth_place,
            mother=encode(record.mother) if record.mother is not None else None,
            mother_person_id=mother_id,
        )
    )
    return base | {"result": "newborn" if added else "newborn_known", "mother_person_id": mother_id}


# --- the operator's review list -----------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    message_id: str
    index: int  # of the act record in the push
    record: dict[str, Any]  # the record as read
    result: dict[str, Any]  # why it is held, candidates


def held(uow: UnitOfWork, limit: int = 100) -> list[Held]:
    """Act records waiting for an operator, oldest first (what the console shows)."""
    with uow:
        rows = uow.smev_inbox.held(limit)
    return [item for row in rows for item in _held_items(row)]


def _held_items(row: InboxRow) -> Iterable[Held]:
    records = list((row.payload or {}).get("deaths") or []) + list((row.payload or {}).get("births") or [])
    for i, result in enumerate(row.results or []):
        if result.get("result") == "review":
            yield Held(row.message_id, i, records[i], result)


def resolve(
    uow: UnitOfWork, message_id: str, index: int, *, person_id: int | None, actor: str, reason: str
) -> dict[str, Any]:
    """An operator settles a held death record: apply it to ``person_id``, or dismiss it (None)."""
    with uow:
        row = uow.smev_inbox.get(message_id, for_update=True)
        results = list(row.results or []) if row is not None else []
        if row is None or not 0 <= index < len(results) or results[index].get("result") != "review":
            raise NotHeld(f"act record {index} of {message_id} is not waiting for an operator")
        deaths = (row.payload or {}).get("deaths") or []
        record = decode(DeathRecord, deaths[index])
        if person_id is None:
            done: dict[str, Any] = {"result": "dismissed"}
        else:
            source = vital.EventSource("zags", f"{record.reference}; {reason}"[:500], actor)
            if record.status is ActStatus.CANCELLED:
                outcome = vital.cancel_death(uow, person_id, source)
            else:
                outcome = vital.record_death(uow, person_id, record.ddeath, source)
            done = {"result": outcome.value, "person_id": person_id, "key": "operator"}
        results[index] = {k: v for k, v in results[index].items() if k in ("kind", "act", "status")} | done
        still = any(r.get("result") == "review" for r in results)
        uow.smev_inbox.decided(message_id, "review" if still else "resolved", results, by=actor)
        return dict(results[index])
