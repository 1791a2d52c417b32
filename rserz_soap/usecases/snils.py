"""СНИЛС from СФР: ask for persons who have none, check the suspicious ones, apply with an audit.

* :func:`plan` picks living persons without a СНИЛС (``SnilsByAdditionalDataRequest`` — name, birth
  date, sex and the passport) and persons whose СНИЛС another person also holds
  (``SnilsValidationRequest``), and files one request per person with its MessageID fixed now.
* :func:`send_pending` sends the filed requests; a resend after a lost answer reuses the MessageID, and
  СМЭВ's ``MessageIsAlreadySent`` counts as sent.
* :func:`take_answers` takes СФР's answers (GetResponse), each applied once: the request row is locked
  and settled together with the change, keyed by the answer's MessageID, and acknowledged after.
  One СНИЛС found → set on the card through ``manual.apply_registry`` (a version with the actor and the
  reason, a RECLIST entry for the insuring СМО; a field an operator pinned is kept); several (twins),
  none, a validation that says "another person's" or a rejection → the request is held for review and
  the card is not touched.
"""

from __future__ import annotations

from dataclasses import dataclass

from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.civil import CivilDocument, CivilPerson, SnilsVerdict
from rserz_soap.domain.person import PersonCard
from rserz_soap.usecases import manual
from rserz_soap.usecases.smev_port import SfrAnswer, SfrPort, SmevError

ACTOR = "smev:sfr"
BY_ADDITIONAL_DATA = "SnilsByAdditionalDataRequest"
BY_DATA = "SnilsByDataRequest"
VALIDATION = "SnilsValidationRequest"
SNILS_OPERATION = "SNILS_SFR"  # the version that sets a СНИЛС told by СФР


@dataclass
class SnilsReport:
    filed: int = 0
    sent: int = 0
    refused: int = 0  # СМЭВ refused a request (the row keeps the error)
    answers: int = 0
    applied: int = 0
    confirmed: int = 0
    held: int = 0
    repeated: int = 0


def plan(uow: UnitOfWork, *, limit: int = 100) -> SnilsReport:
    """File requests for persons without a СНИЛС and validations of shared ones."""
    with uow:
        missing = uow.smev_requests.persons_without_snils(limit)
        shared = uow.smev_requests.shared_snils(limit)
        filed = uow.smev_requests.add(BY_ADDITIONAL_DATA, missing)
        filed += uow.smev_requests.add(VALIDATION, list(shared), shared)
    return SnilsReport(filed=len(filed))


def civil_person(card: PersonCard) -> CivilPerson:
    doc = card.main_document()
    return CivilPerson(
        fam=card.data.fam,
        im=card.data.im,
        ot=card.data.ot,
        dr=card.data.dr,
        w=card.data.w,
        document=CivilDocument(doc.doctype, doc.docser, doc.docnum) if doc is not None else None,
        snils=card.data.ss,
    )


def send_pending(uow: UnitOfWork, port: SfrPort, *, limit: int = 200) -> SnilsReport:
    """Send filed requests, oldest first; raises ``SmevUnavailable`` (what was sent stays sent)."""
    report = SnilsReport()
    with uow:
        rows = uow.smev_requests.to_send(limit)
        cards = uow.persons.load_many([r.person_id for r in rows])
    for row in rows:
        card = cards.get(row.person_id)
        if card is None:
            continue
        try:
            port.send(row.message_id, row.kind, civil_person(card), row.snils_asked)
        except SmevError as exc:
            report.refused += 1
            with uow:
                uow.smev_requests.failed(row.message_id, str(exc))
            continue
        with uow:
            uow.smev_requests.sent(row.message_id)
        report.sent += 1
    return report


def take_answers(uow: UnitOfWork, port: SfrPort, *, limit: int = 500) -> SnilsReport:
    report = SnilsReport()
    while report.answers < limit:
        answer = port.next_answer()
        if answer is None:
            break
        report.answers += 1
        settle(uow, answer, report)
        port.ack(answer.message_id)
    return report


def settle(uow: UnitOfWork, answer: SfrAnswer, report: SnilsReport) -> None:
    """Apply one answer once (see the module docstring)."""
    with uow:
        row = uow.smev_requests.get(answer.original_message_id, for_update=True)
        if row is None or row.answer_message_id is not None or row.state not in ("sent", "pending"):
            report.repeated += 1  # a repeated delivery, or an answer to nothing we asked
            return
        if answer.answer is None:
            uow.smev_requests.answered(
                row.message_id,
                answer.message_id,
                "review",
                "rejected",
                None,
                f"СФР refused: {answer.rejected}",
            )
            report.held += 1
            return
        verdict, found = answer.answer.verdict, answer.answer.snils
        card = uow.persons.load(row.person_id).card
        if row.kind == VALIDATION:
            state = "answered" if verdict is SnilsVerdict.FOUND else "review"
            outcome = (
                "the СНИЛС is the person's"
                if state == "answered"
                else f"СФР: {verdict.value}; for an operator"
            )
            report.confirmed += state == "answered"
            report.held += state == "review"
            uow.smev_requests.answered(
                row.message_id, answer.message_id, state, verdict.value, row.snils_asked, outcome
            )
            return
        if verdict is not SnilsVerdict.FOUND or len(found) != 1:
            why = "several persons (twins)" if verdict is SnilsVerdict.AMBIGUOUS else verdict.value
            uow.smev_requests.answered(
                row.message_id,
                answer.message_id,
                "review",
                verdict.value,
                " ".join(found),
                f"not applied: {why}",
            )
            report.held += 1
            return
        (snils,) = found
        owners = [p for p in uow.search.by_snils(snils) if p != row.person_id]
        if owners:
            uow.smev_requests.answered(
                row.message_id,
                answer.message_id,
                "review",
                verdict.value,
                snils,
                f"held: person {owners[0]} holds it",
            )
            report.held += 1
            return
        if card.data.ss == snils:
            report.confirmed += 1
            outcome = "already on the card"
        else:
            done = manual.apply_registry(
                uow,
                row.person_id,
                {"ss": snils},
                actor=ACTOR,
                reason=f"СФР {row.kind} {row.message_id}",
                source_kind="sfr",
                operation=SNILS_OPERATION,
            )
            report.applied += bool(done.changed)
            outcome = "applied" if done.changed else "kept: the field is pinned"
        uow.smev_requests.answered(
            row.message_id, answer.message_id, "answered", verdict.value, snils, outcome
        )
