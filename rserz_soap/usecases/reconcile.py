"""Reconciliation with the federal register through its mass operations: every difference, exactly.

ФЕРЗЛ offers no "compare these persons" method; it publishes витрины (ФОМС's description v5.07 §3.2.5–8).
A run asks for the insurance витрина of the region's current data (``getViewDataInsuranceStart`` without
``dt``, then ``…Poll`` until COMPLETED: a ZIP of CSV rows, §3.2.6), stages it in the hub's database in one
transaction (``reconciliation_federal``), and then walks the register in ЕНП order, a batch of up to
10,000 persons at a time, comparing each batch with the staged rows of the same ЕНП range — so persons
only one side has are found in both directions:

* **full** (no filter): the staged rows after the cursor, and the region's persons up to the last of them;
* **by filter** (СМО, МО, changed since a date): the region lists its matching persons after the cursor and
  looks up exactly those among the staged rows; a missing one is missing federally.

The витрина carries no names and only the birth year (§3.2.6), so a run compares what it does carry:
sex, СНИЛС, the main document, the СМО and a death («Статус» 0 with «Дата гашения»). Names are ФЕРЗЛ's
events' business (ИЗЕРН, ЗДАДРС: ``usecases/federal_events.py``).

Each batch is settled in one transaction: its report rows, the policy's corrections and the cursor move
together. A worker killed at any point leaves the run at its last settled batch; the витрина's opToken is
saved as soon as it starts, so a resumed run polls the same operation instead of asking for another one,
and a staged витрина is never asked for again. A run is driven by one worker at a time (an advisory lock).

What a difference becomes is the run's policy:

* ``federal_wins`` — the federal value replaces the regional one through ``manual.apply_federal`` (audited,
  pins respected); differences no field-level correction can settle (a death, another СМО, a person
  missing on one side) go to review;
* ``review`` — every difference waits for an operator, the federal values are remembered so the buffer
  flags changes that contradict them;
* ``report`` — only the report.

A pinned field (a deliberate deviation, ``manual.set_deviation``) is reported as ``accepted_deviation``
and never corrected.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from rserz_soap.db.federal import ItemRow, RunRow, StagedRow
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.federal import BatchResult, FederalPerson, FederalPolicy, VitrinaRow
from rserz_soap.domain.person import Document
from rserz_soap.usecases import manual
from rserz_soap.usecases.federal_port import FederalError, FederalUnavailable

log = logging.getLogger(__name__)

BATCH = 10_000
ACTOR = "ferzl:reconciliation"

#: the compared fields — what the insurance витрина carries (§3.2.6), in report order; the names are the
#: card fields ``manual`` and pins use
FIELDS = ("w", "ss", "document", "smo", "ddeath")
#: fields the federal value can simply replace; the rest change insurance or life and need an operator
CORRECTABLE = frozenset({"ss", "document"})
WHOLE = "*"  # the field of a person missing on one side

MISSING_REGIONALLY = "missing_regionally"
MISSING_FEDERALLY = "missing_federally"
DIFFERS = "differs"
ACCEPTED_DEVIATION = "accepted_deviation"

POLICIES = ("federal_wins", "review", "report")


@dataclass(frozen=True)
class Filter:
    smo: str | None = None
    mo: str | None = None
    changed_since: date | None = None

    @property
    def full(self) -> bool:
        return self.smo is None and self.mo is None and self.changed_since is None

    def to_json(self) -> dict[str, str]:
        out = {"smo": self.smo, "mo": self.mo}
        out["changed_since"] = self.changed_since.isoformat() if self.changed_since else None
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Filter:
        since = raw.get("changed_since")
        return cls(raw.get("smo"), raw.get("mo"), date.fromisoformat(since) if since else None)


@dataclass(frozen=True)
class Difference:
    enp: str
    person_id: int | None
    category: str
    field: str
    regional: str | None
    federal: str | None
    resolution: str | None = None  # applied, review, reported, pinned — once the run has settled it


@dataclass(frozen=True)
class Progress:
    run_id: int
    state: str
    filter: Filter
    policy: str
    cursor_enp: str | None
    batches: int
    persons: int
    differences: int
    applied: int
    error: str | None
    started_at: Any
    heartbeat_at: Any
    finished_at: Any
    by_category: dict[str, int] = field(default_factory=dict)


# -- comparing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionalRow:
    person_id: int
    enp: str
    values: dict[str, str | None]


def _doc_text(doctype: int | None, docser: str | None, docnum: str | None) -> str | None:
    if doctype is None or docnum is None:
        return None
    return " ".join(
        p for p in (str(doctype), (docser or "").replace(" ", "").upper(), docnum.replace(" ", "")) if p
    )


def _compared(
    w: int, ss: str | None, document: str | None, smo: str | None, ddeath: date | None
) -> dict[str, str | None]:
    """The compared fields as text, normalised the same way for both sides."""
    return {
        "w": str(w),
        "ss": ss or None,
        "document": document,
        "smo": smo or None,
        "ddeath": ddeath.isoformat() if ddeath else None,
    }


def federal_values(p: FederalPerson) -> dict[str, str | None]:
    doc = p.main_document()
    policy = p.latest_policy()
    document = _doc_text(doc.doctype, doc.docser, doc.docnum) if doc else None
    return _compared(p.w, p.ss, document, policy.smo if policy else None, p.ddeath)


#: «Статус» of the витрина (§5): 0 deregistered (death), 1 valid policy, 2 merged duplicate, 3 other
_STATUS = {0: "DEAD", 1: "INSURED", 2: "MERGED"}


def staged_person(r: StagedRow) -> FederalPerson:
    """A row of the insurance витрина as the federal values it carries (no names: the витрина has none)."""
    docs: tuple[Document, ...] = ()
    if r.doc_type is not None and r.doc_num:
        docs = (Document(r.doc_type, r.doc_ser, r.doc_num, docdate=r.doc_date),)
    policies = (FederalPolicy(r.smo, r.policy_type or "", date.min, num=r.policy),) if r.smo else ()
    return FederalPerson(
        enp=r.enp,
        status=_STATUS.get(r.status if r.status is not None else 3, "NOT_INSURED"),
        fam=None,
        im=None,
        ot=None,
        w=r.sex or 0,
        dr=date(r.birth_year or 1, 1, 1),
        ss=r.snils,
        ddeath=r.cancel_date if r.status == 0 else None,
        documents=docs,
        policies=policies,
        oip=r.oip,
    )


def compare(
    regional: Mapping[str, RegionalRow],
    federal: Mapping[str, FederalPerson],
    pinned: Mapping[int, set[str]],
    *,
    federal_complete: bool,
) -> list[Difference]:
    """The differences of one batch, in ЕНП order. ``federal_complete``: every federal person of the range is
    in ``federal`` (a slice), so a regional person absent from it is missing federally; for a list batch
    the caller passes the regional persons the federal side reported as not found the same way."""
    out: list[Difference] = []
    for enp in sorted(set(regional) | set(federal)):
        ours, theirs = regional.get(enp), federal.get(enp)
        if ours is None:
            assert theirs is not None
            out.append(Difference(enp, None, MISSING_REGIONALLY, WHOLE, None, enp))
            continue
        if theirs is None:
            if federal_complete:
                out.append(Difference(enp, ours.person_id, MISSING_FEDERALLY, WHOLE, enp, None))
            continue
        fed = federal_values(theirs)
        pins = pinned.get(ours.person_id, set())
        for name in FIELDS:
            if ours.values[name] != fed[name]:
                category = ACCEPTED_DEVIATION if name in pins else DIFFERS
                out.append(Difference(enp, ours.person_id, category, name, ours.values[name], fed[name]))
    return out


def regional_rows(
    uow: UnitOfWork,
    *,
    after: str | None = None,
    upto: str | None = None,
    enps: Sequence[str] | None = None,
    flt: Filter = Filter(),
    limit: int = BATCH,
) -> list[RegionalRow]:
    """The region's persons in ЕНП order after ``after`` (up to ``upto``, among ``enps``, by filter)."""
    with uow:
        rows = uow.reconciliation.regional_rows(
            after=after, upto=upto, enps=enps, flt=flt.to_json(), limit=limit
        )
    return [
        RegionalRow(
            r.person_id,
            r.enp,
            _compared(r.w, r.ss, _doc_text(r.doctype, r.docser, r.docnum), r.smo, r.ddeath),
        )
        for r in rows
    ]


# -- running -----------------------------------------------------------------------------------------------


class VitrinaPort(Protocol):
    """What reconciliation needs of ФЕРЗЛ (the client: ``federal/mpi_client.py``)."""

    def view_insurance_start(self, terr: str) -> str: ...

    def view_insurance_poll(self, token: str) -> list[VitrinaRow] | None: ...


class RunBusy(Exception):
    """Another worker is driving this run right now."""


@dataclass
class Reconciler:
    uow: UnitOfWork
    federal: VitrinaPort
    terr: str  # the region's ОКАТО (the витрина's ``terr``, §3.2.5)
    poll_seconds: float = 0.2
    batch_size: int = BATCH
    batch_wait_seconds: float = 1800.0  # a витрина not built by then is asked for again
    sleep: Callable[[float], None] = time.sleep

    def start(self, flt: Filter = Filter(), *, policy: str = "federal_wins", actor: str = "operator") -> int:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        with self.uow as uow:
            return uow.reconciliation.start(flt.to_json(), policy, actor)

    def run(self, run_id: int, *, max_batches: int | None = None) -> Progress:
        """Drive the run until it is done (or ``max_batches`` more are settled).

        Raises ``FederalUnavailable`` when the federal register cannot answer: nothing is lost, the run
        stays where it is and the caller (an RQ job with retries) resumes it later.
        """
        with self.uow.exclusive("rserz:reconcile", run_id) as alone:
            if not alone:
                raise RunBusy(f"reconciliation {run_id} is being run by another worker")
            try:
                done = 0
                while max_batches is None or done < max_batches:
                    if not self._step(run_id):
                        break
                    done += 1
            except FederalError as exc:
                with self.uow as uow:
                    uow.reconciliation.end(run_id, "failed", error=str(exc))
                raise
        return self.progress(run_id)

    def cancel(self, run_id: int, *, actor: str) -> None:
        with self.uow as uow:
            uow.reconciliation.end(run_id, "cancelled", error=f"cancelled by {actor}")

    # -- one batch ---------------------------------------------------------------------------------------

    def _step(self, run_id: int) -> bool:
        """Stage the витрина, or settle the next batch; False when the run is no longer running."""
        with self.uow as uow:
            run = uow.reconciliation.run(run_id)
        if run.state != "running":
            return False
        if run.staged_rows is None:
            self._stage(run_id, run)
            return True
        flt = Filter.from_json(run.filter)
        cursor = run.cursor_enp
        listed: list[str] | None = None
        if not flt.full:
            listed = [r.enp for r in regional_rows(self.uow, after=cursor, flt=flt, limit=self.batch_size)]
            if not listed:
                self._finish(run_id, cursor)
                return False
        result = self._staged_batch(run_id, cursor, listed)
        return self._settle(run_id, cursor, flt, run.policy, result, listed)

    def _stage(self, run_id: int, run: RunRow) -> None:
        """Ask for the insurance витрина (or poll the one asked for before) and stage it whole."""
        token = run.batch_id
        for _attempt in range(2):
            if token is None:
                token = self.federal.view_insurance_start(self.terr)
                with self.uow as uow:  # a resumed run polls this operation instead of starting one
                    uow.reconciliation.batch_started(run_id, token, None)
            try:
                rows = self._wait(token)
            except _BatchLost as exc:
                log.warning("reconciliation %s: витрина %s lost (%s); asking again", run_id, token, exc)
                token = None
                continue
            with self.uow as uow:
                count = uow.reconciliation.stage(run_id, rows)
            log.info("reconciliation %s: %d rows of the insurance витрина staged", run_id, count)
            return
        raise FederalUnavailable(f"ФЕРЗЛ loses the витрины of reconciliation {run_id}")

    def _wait(self, token: str) -> list[VitrinaRow]:
        waited, delay = 0.0, self.poll_seconds
        while True:
            try:
                rows = self.federal.view_insurance_poll(token)
            except FederalError as exc:  # the operation is unknown (ФЕРЗЛ restarted) or failed
                raise _BatchLost(exc.text) from None
            if rows is not None:
                return rows
            if waited > self.batch_wait_seconds:
                raise _BatchLost(f"not built after {waited:.0f} s")
            self.sleep(delay)
            waited += delay
            delay = min(delay * 1.5, 5.0)

    def _staged_batch(self, run_id: int, cursor: str | None, listed: list[str] | None) -> BatchResult:
        """The staged federal rows of the next batch, in the shape a comparison takes."""
        with self.uow as uow:
            if listed is not None:
                rows = uow.reconciliation.staged_rows(run_id, enps=listed, limit=len(listed))
                found = {r.enp for r in rows}
                missing = tuple(e for e in listed if e not in found)
                return BatchResult("staged", tuple(staged_person(r) for r in rows), missing, None, False)
            rows = uow.reconciliation.staged_rows(run_id, after=cursor, limit=self.batch_size)
        last = rows[-1].enp if rows else cursor
        return BatchResult(
            "staged", tuple(staged_person(r) for r in rows), (), last, len(rows) < self.batch_size
        )

    def _settle(
        self,
        run_id: int,
        cursor: str | None,
        flt: Filter,
        policy: str,
        result: BatchResult,
        listed: list[str] | None,
    ) -> bool:
        federal = {p.enp: p for p in result.persons}  # a duplicate delivery collapses here
        with self.uow as uow:
            run = uow.reconciliation.run(run_id, for_update=True)
            if run.state != "running" or run.cursor_enp != cursor:
                return bool(run.state == "running")  # settled meanwhile (cannot under the lock; be safe)
            done = False
            new_cursor: str | None
            if listed is not None:
                rows = regional_rows(uow, enps=listed, limit=len(listed))
                regional = {r.enp: r for r in rows}
                missing = set(result.not_found) & set(regional)
                federal = {e: p for e, p in federal.items() if e in regional}
                diffs = compare(
                    regional, federal, uow.pins.fields_of(r.person_id for r in rows), federal_complete=False
                )
                diffs += [
                    Difference(e, regional[e].person_id, MISSING_FEDERALLY, WHOLE, e, None)
                    for e in sorted(missing)
                ]
                new_cursor = listed[-1]
                done = len(listed) < self.batch_size
            else:
                upto = None if result.end_of_region else result.last_enp
                rows = regional_rows(uow, after=cursor, upto=upto, limit=self.batch_size)
                regional = {r.enp: r for r in rows}
                if len(rows) == self.batch_size and (upto is None or rows[-1].enp < upto):
                    # the region has more persons in this range than one batch (persons ФЕРЗЛ lacks, or
                    # ФЕРЗЛ has ended): settle up to the last regional one, the federal rest comes again
                    new_cursor = rows[-1].enp
                    federal = {e: p for e, p in federal.items() if e <= rows[-1].enp}
                else:
                    new_cursor = upto or max([cursor or "", *regional, *federal]) or cursor
                    done = result.end_of_region
                diffs = compare(
                    regional, federal, uow.pins.fields_of(r.person_id for r in rows), federal_complete=True
                )
            applied = self._resolve(uow, run_id, policy, diffs, federal)
            if done:
                uow.reconciliation.drop_stage(run_id)
            uow.reconciliation.batch_settled(
                run_id,
                cursor=new_cursor,
                persons=len(set(regional) | set(federal)),
                differences=len(diffs),
                applied=applied,
                done=done,
            )
        return not done

    def _resolve(
        self,
        uow: UnitOfWork,
        run_id: int,
        policy: str,
        diffs: Sequence[Difference],
        federal: Mapping[str, FederalPerson],
    ) -> int:
        """Write the report rows and apply the policy; returns how many persons were corrected."""
        if not diffs:
            return 0
        resolution: dict[tuple[str, str], str] = {}
        corrections: dict[int, dict[str, Any]] = {}
        for d in diffs:
            if d.category == ACCEPTED_DEVIATION:
                resolution[(d.enp, d.field)] = "pinned"
            elif policy == "report":
                resolution[(d.enp, d.field)] = "reported"
            elif policy == "federal_wins" and d.category == DIFFERS and d.field in CORRECTABLE:
                assert d.person_id is not None
                corrections.setdefault(d.person_id, {})[d.field] = federal[d.enp].card_value(d.field)
                resolution[(d.enp, d.field)] = "applied"
            else:
                resolution[(d.enp, d.field)] = "review"
        if policy == "review":
            for d in diffs:
                if d.category == DIFFERS and d.field in CORRECTABLE and d.person_id is not None:
                    manual.remember_federal(
                        uow,
                        d.person_id,
                        {d.field: federal[d.enp].card_value(d.field)},
                        source="reconciliation",
                    )
        for pid, values in corrections.items():
            outcome = manual.apply_federal(
                uow,
                pid,
                values,
                actor=ACTOR,
                reason=f"сверка с ФЕРЗЛ № {run_id}",
                respect_pins=True,
                source_kind="ferzl",
            )
            for name in outcome.skipped_pinned:  # pinned after the comparison read it: keep the deviation
                enp = next(d.enp for d in diffs if d.person_id == pid)
                resolution[(enp, name)] = "pinned"
        uow.reconciliation.add_items(
            run_id,
            [
                ItemRow(
                    d.enp,
                    d.person_id,
                    d.category,
                    d.field,
                    d.regional,
                    d.federal,
                    resolution[(d.enp, d.field)],
                )
                for d in diffs
            ],
        )
        return len(corrections)

    def _finish(self, run_id: int, cursor: str | None) -> None:
        with self.uow as uow:
            uow.reconciliation.drop_stage(run_id)
            uow.reconciliation.end(run_id, "done", cursor=cursor)

    # -- reading -----------------------------------------------------------------------------------------

    def progress(self, run_id: int) -> Progress:
        return progress(self.uow, run_id)


class _BatchLost(Exception):
    pass


def progress(uow: UnitOfWork, run_id: int) -> Progress:
    with uow:
        run = uow.reconciliation.run(run_id)
        counts = uow.reconciliation.counts(run_id)
    return Progress(
        run.id,
        run.state,
        Filter.from_json(run.filter),
        run.policy,
        run.cursor_enp,
        run.batches,
        run.persons,
        run.differences,
        run.applied,
        run.error,
        run.started_at,
        run.heartbeat_at,
        run.finished_at,
        counts,
    )


def runs(uow: UnitOfWork, limit: int = 20) -> list[Progress]:
    with uow:
        found = uow.reconciliation.run_ids(limit)
        return [progress(uow, i) for i in found]


def report(uow: UnitOfWork, run_id: int, *, category: str | None = None) -> list[Difference]:
    """The run's differences in ЕНП and field order."""
    with uow:
        rows = uow.reconciliation.items(run_id, category)
    return [
        Difference(r.enp, r.person_id, r.category, r.field, r.regional, r.federal, r.resolution) for r in rows
    ]


def stale_runs(uow: UnitOfWork, older_than_seconds: float) -> list[int]:
    """Running runs whose worker has not settled a batch for a while (a killed worker): to resume."""
    with uow:
        return uow.reconciliation.stale(older_than_seconds)


def dumps(p: Progress) -> str:
    return json.dumps(
        {
            "run": p.run_id,
            "state": p.state,
            "filter": p.filter.to_json(),
            "policy": p.policy,
            "cursor": p.cursor_enp,
            "batches": p.batches,
            "persons": p.persons,
            "differences": p.differences,
            "applied": p.applied,
            "by_category": p.by_category,
            "error": p.error,
        },
        ensure_ascii=False,
    )


@dataclass(frozen=True)
class ReportPage:
    items: list[Difference]
    next_after: int | None  # the cursor of the next page (an item id), None on the last page


def report_page(
    uow: UnitOfWork,
    run_id: int,
    *,
    category: str | None = None,
    field: str | None = None,
    resolution: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> ReportPage:
    """A page of the run's differences in (ЕНП, field) order after the item ``after`` — for lists and
    exports that must stay fast whatever the size of the report."""
    with uow:
        rows = uow.reconciliation.items_page(
            run_id, category=category, field=field, resolution=resolution, after_id=after, limit=limit + 1
        )
    items = [
        Difference(r.enp, r.person_id, r.category, r.field, r.regional, r.federal, r.resolution)
        for _id, r in rows[:limit]
    ]
    return ReportPage(items, rows[limit - 1][0] if len(rows) > limit else None)
