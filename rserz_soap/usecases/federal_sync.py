"""Taking the federal register's daily changes into the regional copy.

:func:`sync_changes` takes the federal changes of the region day by day (``getInsuranceStatusChanges``)
from the day after the last finished one up to yesterday, and applies them: names, sex, birth date, СНИЛС
and the main document through ``manual.apply_federal`` (pinned fields are kept and counted), a death
through ``operations.record_death``. A change of СМО known only federally is not applied blindly: it is
recorded for review. Each page is one transaction with the day's cursor, and every federal change id is
remembered, so a crash resumes after the last page and a duplicate delivery changes nothing.

(Pushing accepted regional changes to ФЕРЗЛ is the outbox's job: ``usecases/outbox.py``.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from rserz_soap.db.federal import DayTotals
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.federal import FederalChange, FederalPerson
from rserz_soap.domain.person import Document, PersonCard
from rserz_soap.usecases import manual, vital
from rserz_soap.usecases.federal_port import FederalRegister

log = logging.getLogger(__name__)

DAILY_ACTOR = "ferzl:daily"
#: how many missed days one run catches up at most (a longer gap is a reconciliation's job)
CATCH_UP_DAYS = 31


# -- federal daily changes ---------------------------------------------------------------------------------


@dataclass
class DayReport:
    day: date
    changes: int = 0
    applied: int = 0
    kept_pinned: int = 0
    unknown: int = 0
    duplicates: int = 0
    review: list[str] = field(default_factory=list)


def days_to_sync(uow: UnitOfWork, today: date) -> list[date]:
    """From the day after the last finished one (or yesterday, the first time) to yesterday."""
    yesterday = today - timedelta(days=1)
    with uow:
        last = uow.federal_changes.last_finished_day()
    first = yesterday if last is None else last + timedelta(days=1)
    first = max(first, yesterday - timedelta(days=CATCH_UP_DAYS - 1))
    return [first + timedelta(days=i) for i in range((yesterday - first).days + 1)]


def sync_changes(
    uow: UnitOfWork, federal: FederalRegister, region: str, *, today: date, page_size: int = 1000
) -> list[DayReport]:
    return [sync_day(uow, federal, region, day, page_size=page_size) for day in days_to_sync(uow, today)]


def sync_day(
    uow: UnitOfWork,
    federal: FederalRegister,
    region: str,
    day: date,
    *,
    page_size: int = 1000,
    again: bool = False,
) -> DayReport:
    """Take one day's federal changes, resuming after the last page taken (``again``: from its start;
    changes taken before are recognised by their id and skipped)."""
    report = DayReport(day)
    with uow:
        after = uow.federal_changes.open_day(day)
    if again:
        after = None
    while True:
        changes, more = federal.insurance_status_changes(region, day, day, after=after, page_size=page_size)
        page = DayReport(day)
        with uow:
            for change in changes:
                _apply_change(uow, change, page)
            if changes:
                after = max(c.change_id for c in changes)
            totals = uow.federal_changes.page_taken(  # the day's counts accumulate: a resumed day keeps them
                day,
                after,
                DayTotals(page.changes, page.applied, page.kept_pinned, page.unknown),
                finished=not more,
            )
        report.changes, report.applied = totals.changes, totals.applied
        report.kept_pinned, report.unknown = totals.kept_pinned, totals.unknown
        report.duplicates += page.duplicates
        report.review += page.review
        if not more:
            return report


def _apply_change(uow: UnitOfWork, change: FederalChange, report: DayReport) -> None:
    changes = uow.federal_changes
    if not changes.first_delivery(change.change_id, change.change_date, change.person.enp):
        report.duplicates += 1  # delivered before (a duplicate, or a page taken again after a crash)
        return
    report.changes += 1
    card = uow.persons.card_by_enp(change.person.enp)
    if card is None or card.person_id is None:
        report.unknown += 1
        changes.outcome(change.change_id, None, "unknown", [])
        return
    outcome, fields = apply_federal_person(
        uow, card, change.person, reason=f"изменение ФЕРЗЛ № {change.change_id} от {change.change_date}"
    )
    if outcome == "applied":
        report.applied += 1
    if outcome == "kept_pinned":
        report.kept_pinned += 1
    if "smo" in fields and outcome != "applied":
        report.review.append(change.person.enp)
    changes.outcome(change.change_id, card.person_id, outcome, fields)


def apply_federal_person(
    uow: UnitOfWork, card: PersonCard, fed: FederalPerson, *, reason: str, actor: str = DAILY_ACTOR
) -> tuple[str, list[str]]:
    """Make the card hold what the federal card holds, pins respected; (outcome, fields touched)."""
    with uow:
        return _apply_federal_person(uow, card, fed, reason, actor)


def _apply_federal_person(
    uow: UnitOfWork, card: PersonCard, fed: FederalPerson, reason: str, actor: str
) -> tuple[str, list[str]]:
    assert card.person_id is not None
    values = correctable_values(card, fed)
    touched: list[str] = []
    outcome = "unchanged"
    if values:
        result = manual.apply_federal(
            uow, card.person_id, values, actor=actor, reason=reason, respect_pins=True, source_kind="ferzl"
        )
        touched += list(result.changed)
        if result.changed:
            outcome = "applied"
        elif result.skipped_pinned:
            outcome = "kept_pinned"
        touched += [f"{name} (закреплено)" for name in result.skipped_pinned]
    if fed.ddeath is not None and card.ddeath is None:
        died = vital.record_death(uow, card.person_id, fed.ddeath, vital.EventSource("ferzl", reason, actor))
        if died is vital.Outcome.APPLIED:
            touched.append("ddeath")
            outcome = "applied"
    policy = fed.latest_policy()
    ours = card.open_period()
    if policy is not None and ours is not None and policy.smo != ours.smo_code and policy.dstop is None:
        touched.append("smo")  # the federal register has another insurer: an operator decides
        if outcome == "unchanged":
            outcome = "review"
    return outcome, touched


def correctable_values(card: PersonCard, fed: FederalPerson) -> dict[str, Any]:
    """The federal values of the fields ``manual.apply_federal`` sets, where they differ from the card."""
    d = card.data
    out: dict[str, Any] = {}
    for name, ours in (("fam", d.fam), ("im", d.im), ("ot", d.ot), ("w", d.w), ("dr", d.dr), ("ss", d.ss)):
        theirs = fed.card_value(name)
        if theirs is not None and (ours or None) != theirs:
            out[name] = theirs
    doc, fdoc = card.main_document(), fed.card_value("document")
    if isinstance(fdoc, Document) and (doc is None or doc.key != fdoc.key):
        out["document"] = fdoc
    return out
