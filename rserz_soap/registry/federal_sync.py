"""Keeping the regional copy in step with the federal register: pushing accepted changes, taking federal ones.

* :func:`push_pending` — send the changes waiting in ``awaiting_federal`` to ФЕРЗЛ, oldest first, and
  settle each with the answer (``Registry.prepare_push`` / ``federal_answered``). When ФЕРЗЛ cannot answer,
  the attempt is noted on the push and :class:`FederalUnavailable` is raised: the sender stops (a later
  change of the same person must not overtake an earlier one) and its RQ job retries later.
* :func:`sync_changes` — take the federal changes of the region day by day (``getInsuranceStatusChanges``)
  from the day after the last finished one up to yesterday, and apply them: names, sex, birth date, СНИЛС
  and the main document through ``manual.apply_federal`` (pinned fields are kept and counted), a death
  through ``operations.record_death``. A change of СМО known only federally is not applied blindly: it is
  recorded for review. Each page is one transaction with the day's cursor, and every federal change id is
  remembered, so a crash resumes after the last page and a duplicate delivery changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from rserz_soap.db import persons
from rserz_soap.db.tables import federal_change_seen, federal_sync_day
from rserz_soap.domain.federal import FederalChange, FederalPerson
from rserz_soap.domain.operations import OperationRefused, record_death
from rserz_soap.domain.person import Document, PersonCard
from rserz_soap.registry import manual
from rserz_soap.registry.buffer import Registry
from rserz_soap.registry.federal_port import FederalRegister, FederalUnavailable

log = logging.getLogger(__name__)

DAILY_ACTOR = "ferzl:daily"
#: how many missed days one run catches up at most (a longer gap is a reconciliation's job)
CATCH_UP_DAYS = 31


# -- pushing -----------------------------------------------------------------------------------------------


@dataclass
class PushReport:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    not_sent: int = 0  # no longer applicable to the register: rejected locally, never sent


def push_pending(
    registry: Registry, federal: FederalRegister, region: str, *, limit: int = 1000
) -> PushReport:
    """Send up to ``limit`` waiting changes; one sender at a time (a second one returns at once)."""
    with registry.engine.connect() as lock:
        if not lock.execute(text("SELECT pg_try_advisory_lock(hashtext('rserz:ferzl-push'))")).scalar_one():
            return PushReport()
        try:
            return _push(registry, federal, region, limit)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(hashtext('rserz:ferzl-push'))"))
            lock.commit()


def _push(registry: Registry, federal: FederalRegister, region: str, limit: int) -> PushReport:
    report = PushReport()
    for entry_id in registry.pending_pushes(limit):
        push = registry.prepare_push(entry_id)
        if push is None:
            report.not_sent += 1
            continue
        try:
            answer = federal.accept_regional_change(
                push.request_id, region, push.operation, push.change_date, push.card
            )
        except FederalUnavailable as exc:
            registry.federal_unreachable(entry_id, str(exc))
            log.warning("ФЕРЗЛ push of entry %s: %s; the entry waits", entry_id, exc)
            raise
        report.sent += 1
        result = registry.federal_answered(entry_id, answer)
        if answer.accepted:
            report.accepted += 1
        else:
            report.rejected += 1
            log.info("ФЕРЗЛ rejected entry %s: %s (%s)", entry_id, answer.text, result.state)
    return report


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


def days_to_sync(conn: Connection, today: date) -> list[date]:
    """From the day after the last finished one (or yesterday, the first time) to yesterday."""
    yesterday = today - timedelta(days=1)
    last = conn.execute(
        select(func.max(federal_sync_day.c.day)).where(federal_sync_day.c.finished_at.is_not(None))
    ).scalar_one()
    first = yesterday if last is None else last + timedelta(days=1)
    first = max(first, yesterday - timedelta(days=CATCH_UP_DAYS - 1))
    return [first + timedelta(days=i) for i in range((yesterday - first).days + 1)]


def sync_changes(
    engine: Engine, federal: FederalRegister, region: str, *, today: date, page_size: int = 1000
) -> list[DayReport]:
    with engine.connect() as conn:
        days = days_to_sync(conn, today)
    return [sync_day(engine, federal, region, day, page_size=page_size) for day in days]


def sync_day(
    engine: Engine,
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
    with engine.begin() as conn:
        conn.execute(pg_insert(federal_sync_day).values(day=day).on_conflict_do_nothing())
        after = conn.execute(
            select(federal_sync_day.c.after_change_id).where(federal_sync_day.c.day == day)
        ).scalar_one()
    if again:
        after = None
    while True:
        changes, more = federal.insurance_status_changes(region, day, day, after=after, page_size=page_size)
        page = DayReport(day)
        with engine.begin() as conn:
            for change in changes:
                _apply_change(conn, change, page)
            if changes:
                after = max(c.change_id for c in changes)
            totals = conn.execute(  # the day's counts accumulate in its row: a resumed day keeps them
                update(federal_sync_day)
                .where(federal_sync_day.c.day == day)
                .values(
                    after_change_id=after,
                    changes=federal_sync_day.c.changes + page.changes,
                    applied=federal_sync_day.c.applied + page.applied,
                    kept_pinned=federal_sync_day.c.kept_pinned + page.kept_pinned,
                    unknown=federal_sync_day.c.unknown + page.unknown,
                    finished_at=None if more else func.now(),
                )
                .returning(
                    federal_sync_day.c.changes,
                    federal_sync_day.c.applied,
                    federal_sync_day.c.kept_pinned,
                    federal_sync_day.c.unknown,
                )
            ).one()
        report.changes, report.applied, report.kept_pinned, report.unknown = totals
        report.duplicates += page.duplicates
        report.review += page.review
        if not more:
            return report


def _apply_change(conn: Connection, change: FederalChange, report: DayReport) -> None:
    fresh = conn.execute(
        pg_insert(federal_change_seen)
        .values(change_id=change.change_id, day=change.change_date, enp=change.person.enp, outcome="taking")
        .on_conflict_do_nothing()
        .returning(federal_change_seen.c.change_id)
    ).first()
    if fresh is None:  # delivered before (a duplicate, or a page taken again after a crash)
        report.duplicates += 1
        return
    report.changes += 1
    card = persons.load_by_enp(conn, change.person.enp)
    if card is None or card.person_id is None:
        report.unknown += 1
        _outcome(conn, change, None, "unknown", [])
        return
    outcome, fields = apply_federal_person(
        conn, card, change.person, reason=f"изменение ФЕРЗЛ № {change.change_id} от {change.change_date}"
    )
    if outcome == "applied":
        report.applied += 1
    if outcome == "kept_pinned":
        report.kept_pinned += 1
    if "smo" in fields and outcome != "applied":
        report.review.append(change.person.enp)
    _outcome(conn, change, card.person_id, outcome, fields)


def apply_federal_person(
    conn: Connection, card: PersonCard, fed: FederalPerson, *, reason: str, actor: str = DAILY_ACTOR
) -> tuple[str, list[str]]:
    """Make the card hold what the federal card holds, pins respected; (outcome, fields touched)."""
    assert card.person_id is not None
    values = correctable_values(card, fed)
    touched: list[str] = []
    outcome = "unchanged"
    if values:
        result = manual.apply_federal(
            conn, card.person_id, values, actor=actor, reason=reason, respect_pins=True, source_kind="ferzl"
        )
        touched += list(result.changed)
        if result.changed:
            outcome = "applied"
        elif result.skipped_pinned:
            outcome = "kept_pinned"
        touched += [f"{name} (закреплено)" for name in result.skipped_pinned]
    if fed.ddeath is not None and card.ddeath is None:
        stored = persons.load(conn, card.person_id, for_update=True)
        try:
            transition = record_death(stored.card, fed.ddeath)
        except OperationRefused:
            pass
        else:
            meta = persons.VersionMeta(
                "FEDERAL_DEATH", "ferzl", actor, fed.ddeath, actor=actor, reason=reason
            )
            persons.save(conn, stored, transition.after, meta, transition.stop_notices)
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


def _outcome(
    conn: Connection, change: FederalChange, person_id: int | None, outcome: str, fields: list[str]
) -> None:
    conn.execute(
        update(federal_change_seen)
        .where(federal_change_seen.c.change_id == change.change_id)
        .values(person_id=person_id, outcome=outcome, fields=", ".join(fields) or None)
    )
