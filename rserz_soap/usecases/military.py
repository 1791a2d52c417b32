"""Military service: a военкомат list suspends and resumes insurance, in ФЕРЗЛ and in the register
(326-ФЗ art. 10; ФОМС's description v5.07 §3.5 ``suspendOmsPolicy``, §3.3.1 case 2 for the restoration).

:func:`import_list` takes a checked list (``files/military.py`` reads the file):

* each row is matched to one person of the register: identity document with the same name and birth
  date, else СНИЛС with the same birth date, else name and birth date (``zags.match_person``);
* persons *entering* service: ФЕРЗЛ ``suspendOmsPolicy`` (one request per list: every attempt sends the
  same externalRequestId, so ФЕРЗЛ answers a repeat with the operation it started the first time; status
  НВС, event ПРИОСТ), then the register suspends each accepted person from the service's start
  (``federal_events.suspend``: the open period stops, the ЕНП is kept, the СМО gets its STOPLIST entry, the
  version is a П025);
* persons *leaving* it: ФЕРЗЛ is asked to restore the policy — ``submitPolicyApplication`` appObject 2 /
  appCause 3 (§3.3.1 case 2, "restore unchanged": the same ЕНП and СМО; appMethod 5, the fund's corrective
  application — the description names no other method, and ФЕРЗЛ answers with event ВОССТ), one request id
  per row; then the register reopens the insurance from the service's end with the policy ФЕРЗЛ formed
  (``federal_events.resume``);
* rows matching nobody, several persons, or a person whose state does not allow the change go to the
  buffer (``awaiting_review``, the reason in the trail) for an operator: nothing is guessed;
* the protocol (one line per row: status, code, message) is stored with the list's id in the same
  transaction as the buffer entries: importing the same list again returns that protocol and changes
  nothing; the same list number and date with other content is refused (MIL-006).

With the hub isolated from ФЕРЗЛ (``federal`` None: RSERZ_FEDERAL_FIRST off) only the register changes.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol

from rserz_soap.db.idempotency import Claim
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain import military as mil
from rserz_soap.domain.buffer import ACCEPTED_CODE, REJECTED_CODE, State, Submitter, Trail
from rserz_soap.domain.civil import CivilDocument, CivilPerson
from rserz_soap.domain.codec import decode, encode
from rserz_soap.domain.federal import FederalAnswer, MilitaryService, PersonFacts, PolicyApplication
from rserz_soap.domain.person import Document, PersonCard, PersonData, Status
from rserz_soap.domain.records import InsuranceInput, Op, OperationRecord, Visit
from rserz_soap.usecases import federal_events, zags
from rserz_soap.usecases.federal_port import FederalUnavailable
from rserz_soap.usecases.intake import Outcome, Work, settle

OPERATION = "militaryList"
ACTOR = "military"
#: appMethod of the fund's own application on a военкомат list (§3.3.1: 5, a corrective application)
APP_METHOD = 5


class MilitaryPort(Protocol):
    """What a list needs of ФЕРЗЛ (the adapter: ``federal/mpi_client.py``)."""

    def suspend(self, request_id: str, persons: Sequence[MilitaryService]) -> str: ...

    def suspended(self, token: str) -> dict[str, tuple[str | None, tuple[tuple[str, str], ...]]] | None: ...

    def submit_application(self, request_id: str, app: PolicyApplication) -> FederalAnswer: ...


class ListConflict(ValueError):
    """The list's id (военкомат, number, date) was imported before with other content."""

    code = mil.LIST_CONFLICT


@dataclass(frozen=True)
class _Row:
    row: mil.ServiceRow
    person_id: int | None
    why: str  # match key, or several | none
    card: PersonCard | None = None


def import_list(
    uow: UnitOfWork,
    federal: MilitaryPort | None,
    lst: mil.MilitaryList,
    *,
    terr: str,
    file_name: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
    poll_seconds: float = 0.2,
    max_polls: int = 3000,
    sleep: Callable[[float], None] = time.sleep,
) -> mil.ImportProtocol:
    """Apply a военкомат list once; its protocol (the stored one when the list was imported before)."""
    header = lst.header
    fingerprint = lst.fingerprint()
    with uow:
        name = header.commissariat_name or f"Военкомат {header.commissariat}"
        participant_id = uow.participants.upsert("military", header.commissariat, name[:200])
        known = uow.idempotency.stored(participant_id, header.list_id)
    if known is not None:
        operation, sha, body = known
        if operation != OPERATION or sha != fingerprint:
            raise ListConflict(f"{mil.LIST_CONFLICT} {mil.MESSAGES[mil.LIST_CONFLICT]}: {header.key}")
        if body:
            progress(f"список {header.key} уже загружен: протокол прежней загрузки")
            return replace(decode(mil.ImportProtocol, json.loads(body)), repeat=True)
    submitter = Submitter(participant_id, "military", header.commissariat)

    progress(
        f"строк {len(lst.rows) + len(lst.errors)}: проверено {len(lst.rows)}, с ошибками {len(lst.errors)}"
    )
    matched = []
    for i, r in enumerate(lst.rows, start=1):
        matched.append(_match(uow, r))
        if i % 1000 == 0:
            progress(f"сопоставлено {i} из {len(lst.rows)}")
    progress(f"найдено в регистре {sum(1 for m in matched if m.person_id)} из {len(matched)}")
    lines: dict[int, mil.ProtocolLine] = {
        e.n: mil.ProtocolLine(e.n, mil.ST_REJECTED, e.code, e.message) for e in lst.errors
    }
    held: list[tuple[mil.ServiceRow, str, str]] = []  # row, code, why

    entering = [m for m in matched if m.person_id and m.row.kind is mil.Kind.ENTERING]
    leaving = [m for m in matched if m.person_id and m.row.kind is mil.Kind.LEAVING]
    for m in matched:
        if m.person_id is None:
            code = mil.AMBIGUOUS if m.why == "several" else mil.NOT_FOUND
            held.append((m.row, code, m.why))

    refused = _federal_suspend(federal, header, entering, progress, poll_seconds, max_polls, sleep)
    for m in entering:
        assert m.person_id is not None
        if m.row.n in refused:
            lines[m.row.n] = _line(m.row, mil.ST_REFUSED, mil.FEDERAL_REFUSED, refused[m.row.n])
            continue
        assert m.row.start is not None
        outcome = federal_events.suspend(
            uow, m.person_id, m.row.start, Op.P025.value, _reason(header, m.row), ACTOR
        )
        _settled(lines, held, m, outcome, mil.ST_SUSPENDED, mil.SUSPENDED, _enp(m))
    if entering:
        progress(f"призыв: обработано {len(entering)}")

    for m in leaving:
        assert m.person_id is not None and m.card is not None and m.row.end is not None
        if m.card.status is not Status.SUSPENDED:  # nothing to ask ФЕРЗЛ; resume says what it is
            outcome = federal_events.resume(uow, m.person_id, m.row.end, None, "ВОССТ", "", ACTOR)
            _settled(lines, held, m, outcome, mil.ST_RESUMED, mil.RESUMED, _enp(m))
            continue
        answer = _federal_restore(federal, header, m)
        if answer is not None and not answer.accepted:
            lines[m.row.n] = _line(m.row, mil.ST_REFUSED, mil.FEDERAL_REFUSED, answer.text)
            continue
        formed = answer.formed if answer is not None else None
        outcome = federal_events.resume(
            uow, m.person_id, m.row.end, formed, "ВОССТ", _reason(header, m.row), ACTOR
        )
        _settled(lines, held, m, outcome, mil.ST_RESUMED, mil.RESUMED, _enp(m))
    if leaving:
        progress(f"увольнение: обработано {len(leaving)}")

    with uow:  # the buffer's entries, the protocol and the list's id: together or not at all
        claim = uow.idempotency.claim(participant_id, header.list_id, OPERATION, fingerprint)
        if claim.claim is Claim.CONFLICT:  # another content under this list's id came in meanwhile
            raise ListConflict(f"{mil.LIST_CONFLICT} {mil.MESSAGES[mil.LIST_CONFLICT]}: {header.key}")
        if claim.stored_response:  # a concurrent import of the same list finished first
            return replace(decode(mil.ImportProtocol, json.loads(claim.stored_response)), repeat=True)
        entries = _hold(uow, submitter, header, held, terr)
        for (row, code, why), entry_id in zip(held, entries, strict=True):
            message = f"{mil.MESSAGES[code]}" + (f" ({why})" if why not in ("none", "several") else "")
            lines[row.n] = _line(row, mil.ST_HELD, code, message, buffer_entry=entry_id)
        ordered = tuple(lines[n] for n in sorted(lines))
        counts = dict(Counter(line.status for line in ordered))
        protocol = mil.ImportProtocol(
            header.key,
            header.commissariat,
            header.number,
            header.list_date,
            file_name,
            ordered,
            counts=counts,
        )
        uow.idempotency.remember(
            participant_id, header.list_id, json.dumps(encode(protocol), ensure_ascii=False)
        )
    progress(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "пустой список")
    return protocol


# -- an operator settles a held row -------------------------------------------------------------------------


class NotHeld(ValueError):
    """The buffer entry is not a военкомат row awaiting an operator."""


def resolve(
    uow: UnitOfWork,
    federal: MilitaryPort | None,
    entry_id: int,
    person_id: int | None,
    *,
    actor: str,
    reason: str,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Apply a held row to the person an operator found (ФЕРЗЛ first, then the register), or dismiss it
    (``person_id`` None); the entry ends applied or rejected. Returns the row's new status."""
    from rserz_soap.usecases import review

    with uow:
        entry = uow.buffer.get(entry_id)
    if entry is None or entry.state is not State.AWAITING_REVIEW or "military_kind" not in entry.record.extra:
        raise NotHeld(f"buffer entry {entry_id} is not a военкомат row awaiting review")
    if person_id is None:
        review.reject(uow, entry_id, actor=actor, reason=reason)
        return mil.ST_REJECTED
    row, header = _held_row(entry.record)
    with uow:
        card = uow.persons.load(person_id).card
    doc = card.main_document()
    if doc is not None:  # ФЕРЗЛ is told the person as the register holds them, not as the list misspelt them
        d = card.data
        row = replace(row, fam=d.fam, im=d.im, ot=d.ot, dr=d.dr, doctype=doc.doctype, docser=doc.docser,
                      docnum=doc.docnum, snils=d.ss)  # fmt: skip
    m = _Row(row, person_id, "operator", card)
    refusal: str | None = None
    formed = None
    if row.kind is mil.Kind.ENTERING:
        refused = _federal_suspend(
            federal, header, [m], lambda _: None, 0.2, 3000, sleep, suffix=f"|{entry_id}"
        )
        refusal = refused.get(row.n)
    elif card.status is Status.SUSPENDED:
        answer = _federal_restore(federal, header, m, suffix=f"|{entry_id}")
        if answer is not None and not answer.accepted:
            refusal = answer.text
        formed = answer.formed if answer is not None else None
    why = f"{reason}; {_reason(header, row)}"
    if refusal is None:
        if row.kind is mil.Kind.ENTERING:
            assert row.start is not None
            outcome = federal_events.suspend(uow, person_id, row.start, Op.P025.value, why, ACTOR)
        else:
            assert row.end is not None
            outcome = federal_events.resume(uow, person_id, row.end, formed, "ВОССТ", why, ACTOR)
        if outcome not in ("applied", "unchanged"):
            refusal = mil.MESSAGES[mil.NOT_SUSPENDED if outcome == "not_suspended" else mil.STATUS_FORBIDS]
    with uow:
        locked = uow.buffer.lock_one(entry_id)
        if locked.state is not State.AWAITING_REVIEW:
            raise NotHeld(f"buffer entry {entry_id} was decided meanwhile")
        trail = Trail(entry_id, State.AWAITING_REVIEW)
        work = Work.of(locked, actor=actor, review_done=True, reason=reason)
        if refusal is not None:
            trail.move(State.REJECTED, actor, f"{reason}: {refusal}"[:500])
            comment = f"Не применено: {refusal}"
            settle(uow, [Outcome(work, trail, card, REJECTED_CODE, comment, [], reject_reason=comment)])
            return mil.ST_REFUSED
        trail.move(State.ACCEPTED, actor, reason)
        trail.move(State.APPLIED, actor, None)
        after = uow.persons.load(person_id).card
        status = mil.ST_SUSPENDED if row.kind is mil.Kind.ENTERING else mil.ST_RESUMED
        settle(
            uow,
            [
                Outcome(
                    work,
                    trail,
                    after,
                    ACCEPTED_CODE,
                    mil.MESSAGES[mil.SUSPENDED if status == mil.ST_SUSPENDED else mil.RESUMED],
                    [],
                )
            ],
        )
        return status


def _held_row(record: OperationRecord) -> tuple[mil.ServiceRow, mil.ListHeader]:
    """The row and its list back from a held buffer entry (``_record``)."""
    x = record.extra
    code, number, when = x["military_list"].split("|")
    doc = record.documents[0]
    p = record.person
    row = mil.ServiceRow(
        record.n_rec,
        mil.Kind(x["military_kind"]),
        p.fam,
        p.im,
        p.ot,
        p.dr,
        doc.doctype,
        doc.docser,
        doc.docnum,
        p.ss,
        date.fromisoformat(x["service_start"]) if x.get("service_start") else None,
        date.fromisoformat(x["service_end"]) if x.get("service_end") else None,
        p.w,
    )
    return row, mil.ListHeader(code, number, date.fromisoformat(when))


# -- matching -----------------------------------------------------------------------------------------------


def _match(uow: UnitOfWork, row: mil.ServiceRow) -> _Row:
    """The one person a row names: document (+ name, birth date), СНИЛС (+ birth date), name + birth date."""
    person = CivilPerson(
        row.fam, row.im, row.ot, row.dr, row.w, CivilDocument(row.doctype, row.docser, row.docnum), row.snils
    )
    found = zags.match_person(uow, person)
    pid, why = found.person_id, found.key
    if pid is None and row.snils:
        with uow:
            by_snils = uow.search.by_snils(row.snils, row.dr)
        if len(by_snils) == 1:
            pid, why = by_snils[0], "snils"
        elif len(by_snils) > 1:
            why = "several"
    if pid is not None and why == "name_dr" and row.snils:
        # a name and a birth date alone: the СНИЛС, when the list gives one, must not contradict
        with uow:
            card = uow.persons.load(pid).card
        if card.data.ss and card.data.ss != row.snils:
            return _Row(row, None, "none")
    if pid is None:
        return _Row(row, None, why)
    with uow:
        card = uow.persons.load(pid).card
    return _Row(row, pid, why, card)


# -- ФЕРЗЛ ---------------------------------------------------------------------------------------------------


def _federal_suspend(
    federal: MilitaryPort | None,
    header: mil.ListHeader,
    entering: list[_Row],
    progress: Callable[[str], None],
    poll_seconds: float,
    max_polls: int,
    sleep: Callable[[float], None],
    *,
    suffix: str = "",
) -> dict[int, str]:
    """suspendOmsPolicy for the list's matched persons entering service; row → ФЕРЗЛ's refusal."""
    if federal is None or not entering:
        return {}
    persons = [
        MilitaryService(
            index=str(m.row.n),
            fam=m.row.fam,
            im=m.row.im,
            ot=m.row.ot,
            dr=m.row.dr,
            document=Document(m.row.doctype, m.row.docser, m.row.docnum),
            start=m.row.start or header.list_date,
            end=m.row.end or _plus_year(m.row.start or header.list_date),
            months=m.row.months,
            snils=m.row.snils,
        )
        for m in entering
    ]
    request_id = str(uuid.uuid5(mil.LIST_NAMESPACE, f"{header.key}|suspend{suffix}"))
    progress(f"ФЕРЗЛ suspendOmsPolicy: {len(persons)} лиц")
    token = federal.suspend(request_id, persons)
    results = None
    for _ in range(max_polls):
        results = federal.suspended(token)
        if results is not None:
            break
        sleep(poll_seconds)
    if results is None:
        raise FederalUnavailable(f"ФЕРЗЛ suspendOmsPolicy of list {header.key}: not done")
    refused: dict[int, str] = {}
    for p in persons:
        _oip, errors = results.get(p.index, (None, (("?", "нет ответа по этому лицу"),)))
        if errors:
            refused[int(p.index)] = "ФЕРЗЛ: " + "; ".join(f"{c} {m}" for c, m in errors)
    return refused


def _federal_restore(
    federal: MilitaryPort | None, header: mil.ListHeader, m: _Row, *, suffix: str = ""
) -> FederalAnswer | None:
    """submitPolicyApplication 2/3 (restore unchanged) from the service's end, the same ЕНП and СМО."""
    if federal is None:
        return None
    card, row = m.card, m.row
    assert card is not None and row.end is not None
    last = max(card.insurance, key=lambda q: q.dbeg)
    doc = card.main_document() or Document(row.doctype, row.docser, row.docnum)
    d = card.data
    app = PolicyApplication(
        terr=last.ter_st,
        smo=last.smo_code,
        reg_date=row.end,
        app_method=APP_METHOD,
        app_object=2,
        app_cause=3,
        kl=d.kateg,
        person=PersonFacts(d.fam, d.im, d.ot, d.w, d.dr, d.mr, "RUS" if d.c_oksm in (None, "643") else None),
        documents=(doc,),
        enp=card.enp or last.enp,
        snils=d.ss,
    )
    request_id = str(uuid.uuid5(mil.LIST_NAMESPACE, f"{header.key}|resume|{row.n}{suffix}"))
    return federal.submit_application(request_id, app)


def _plus_year(d: date) -> date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year + 1, day=28)


# -- the register's outcomes, the buffer ---------------------------------------------------------------------


def _settled(
    lines: dict[int, mil.ProtocolLine],
    held: list[tuple[mil.ServiceRow, str, str]],
    m: _Row,
    outcome: str,
    status: str,
    code: str,
    enp: str | None,
) -> None:
    if outcome == "applied":
        lines[m.row.n] = _line(m.row, status, code, mil.MESSAGES[code], enp=enp)
    elif outcome == "unchanged":
        lines[m.row.n] = _line(m.row, mil.ST_ALREADY, mil.ALREADY, mil.MESSAGES[mil.ALREADY], enp=enp)
    elif outcome == "not_suspended":
        held.append((m.row, mil.NOT_SUSPENDED, f"лицо {m.person_id}"))
    else:  # review: dead, merged, annulled
        held.append((m.row, mil.STATUS_FORBIDS, f"лицо {m.person_id}"))


def _line(
    row: mil.ServiceRow,
    status: str,
    code: str,
    message: str,
    *,
    enp: str | None = None,
    buffer_entry: int | None = None,
) -> mil.ProtocolLine:
    return mil.ProtocolLine(row.n, status, code, message, row.kind.value, enp, buffer_entry)


def _enp(m: _Row) -> str | None:
    return m.card.enp if m.card is not None else None


def _reason(header: mil.ListHeader, row: mil.ServiceRow) -> str:
    what = f"служба с {row.start}" if row.kind is mil.Kind.ENTERING else f"служба окончена {row.end}"
    return f"список военкомата {header.commissariat} № {header.number} от {header.list_date}, строка {row.n}: {what}"


def _hold(
    uow: UnitOfWork,
    submitter: Submitter,
    header: mil.ListHeader,
    held: list[tuple[mil.ServiceRow, str, str]],
    terr: str,
) -> list[int]:
    """The rows an operator must decide, as buffer entries awaiting review (one batch per list)."""
    if not held:
        return []
    batch = uow.buffer.batch(submitter.participant_id, request_id=header.list_id)
    if batch is None:
        records = [_record(row, header, terr, code) for row, code, _ in held]
        batch = uow.buffer.add(
            submitter, records, request_id=header.list_id, batch_ref=f"военкомат {header.key}"
        )
        outcomes = []
        for entry, (_, code, why) in zip(uow.buffer.lock(batch.entry_ids), held, strict=True):
            trail = Trail(entry.id, entry.state)
            trail.move(State.CHECKED, ACTOR, None)
            reason = f"{code} {mil.MESSAGES[code]} ({why})"
            trail.move(State.AWAITING_REVIEW, ACTOR, reason)
            work = Work.of(entry)
            outcomes.append(
                Outcome(
                    work,
                    trail,
                    None,
                    None,
                    f"Запись на согласовании в ТФОМС: {reason}",
                    [],
                    show_insurance=False,
                )
            )
        settle(uow, outcomes)
    return list(batch.entry_ids)


def _record(row: mil.ServiceRow, header: mil.ListHeader, terr: str, code: str) -> OperationRecord:
    """A row as the buffer keeps a change: П025 for entering, П010 (a restoration) for leaving."""
    on = row.start if row.kind is mil.Kind.ENTERING else row.end
    assert on is not None
    return OperationRecord(
        n_rec=row.n,
        op=(Op.P025 if row.kind is mil.Kind.ENTERING else Op.P010).value,
        person=PersonData(fam=row.fam, im=row.im, ot=row.ot, w=row.w, dr=row.dr, ss=row.snils),
        visit=Visit(dvizit=on, method=3),
        insurance=InsuranceInput(ter_st=terr, smo_code=""),
        documents=(Document(row.doctype, row.docser, row.docnum),),
        record_id=f"{header.key}|{row.n}",
        received_on=header.list_date,
        extra={
            "military_kind": row.kind.value,
            "military_list": header.key,
            "military_code": code,
            "service_start": row.start.isoformat() if row.start else "",
            "service_end": row.end.isoformat() if row.end else "",
        },
    )
