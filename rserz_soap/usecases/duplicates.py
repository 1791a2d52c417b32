"""Duplicate persons: find candidates, merge a duplicate into the person who stays, undo a merge.

Duplicates inflate the number of insured (and the money that follows it), so finding them is a standing
job; but merging two *different* people takes one person's insurance away, so a merge must be reversible
exactly. That shapes everything here:

* Merging never deletes or rewrites: both cards get a new version through :func:`persons.save` (rows that
  change are superseded), the merged card stays in the register with status ``merged`` and
  ``person.merged_into`` pointing at the survivor, and ``person_merge`` records the two version ids.
* Undoing reads back exactly what those two versions changed — rows *superseded by* the merge version are
  what it removed, rows *inserted by* it and still current are what it added — and writes the inverse as
  a new version of each card. So "unmerge" is one generic reversal, not a second copy of the merge rules,
  and whatever happened to the cards after the merge is kept.
* Every ЕНП of the merged person moves to the survivor as an alias (``enp_alias``: ``is_main`` false,
  reason ``merge``), so participants who still send the old ЕНП reach the survivor. The moved rows carry
  ``added_at`` equal to ``person_merge.merged_at`` (one ``clock_timestamp()`` taken for the merge): that
  is how an unmerge finds exactly the rows its merge moved, even after later merges into the same survivor.
  Merges chain (B into A, then A into C) and undo like a stack: an ЕНП that came to A by an earlier merge
  goes back to A with that merge's reason and instant, so undoing the earlier merge still finds it.

Locks: both person rows are locked (``load(for_update=True)``) in ascending id order, as every use case
that touches two persons must, so two opposite merges cannot deadlock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from rserz_soap.db.merges import MergeRow
from rserz_soap.db.persons import SavedVersion, StoredCard, VersionMeta
from rserz_soap.db.search import Lookup
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.duplicates import DuplicateScore, score, swapped_variants
from rserz_soap.domain.operations import StopNotice
from rserz_soap.domain.person import Attachment, InsurancePeriod, PersonCard, Status, StopReason

__all__ = [
    "MERGE",
    "UNMERGE",
    "Candidate",
    "MergeError",
    "MergeResult",
    "MergeRow",
    "UnmergeResult",
    "find_candidates",
    "merge",
    "merges_of",
    "unmerge",
]

MERGE: Final = "MERGE"
UNMERGE: Final = "UNMERGE"
SOURCE_KIND: Final = "tfoms"
SOURCE_CODE: Final = "operator"
ALIAS_REASON_MERGE: Final = "merge"
#: Why an ЕНП points at a person again after an unmerge. The reason the row had before the merge
#: (``assigned`` / ``correction`` / an earlier ``merge``) is not kept anywhere, so it is not guessed.
ALIAS_REASON_UNMERGE: Final = "unmerge"

# Candidate search budget: each search may contribute at most this many persons to be loaded and scored.
#: Everyone born on the same day, best name first — the only way to the "birth date + address" key.
SAME_BIRTH_DATE_LIMIT: Final = 200
#: Similar names born within a year either side (a typo in the year or the day).
NEAR_BIRTH_DATE_LIMIT: Final = 50
#: Similar names with any birth date (digits of the year swapped, day and month swapped).
ANY_BIRTH_DATE_LIMIT: Final = 50
ANY_BIRTH_DATE_THRESHOLD: Final = 0.6
NEAR_BIRTH_DATE: Final = timedelta(days=366)

# Refusal codes (machine-readable; adapters map them to their error directories).
SELF_MERGE: Final = "self_merge"
ALREADY_MERGED: Final = "already_merged"
SURVIVOR_NOT_INSURED: Final = "survivor_not_insured"
UNKNOWN_MERGE: Final = "unknown_merge"
ALREADY_UNMERGED: Final = "already_unmerged"
MERGE_OVERTAKEN: Final = "merge_overtaken"


class MergeError(Exception):
    """A merge or unmerge that would corrupt the register; nothing was written."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Candidate:
    person_id: int
    score: DuplicateScore


@dataclass(frozen=True)
class MergeResult:
    merge_id: int
    survivor_id: int
    merged_id: int
    survivor_version: SavedVersion
    merged_version: SavedVersion
    moved_enps: tuple[str, ...]
    closed_periods: tuple[InsurancePeriod, ...]  # the merged person's periods as they are after the merge
    stop_notices: tuple[StopNotice, ...]
    taken_over: tuple[str, ...]  # what the survivor took from the merged card, for the operator


@dataclass(frozen=True)
class UnmergeResult:
    merge_id: int
    survivor_version: SavedVersion
    merged_version: SavedVersion
    restored_enps: tuple[str, ...]
    reopened_periods: tuple[InsurancePeriod, ...]
    status: Status


# --- candidates -------------------------------------------------------------------------------------------


#: The quick gate (a new registration in the buffer) looks at persons born the same day only when their
#: names are alike; everyone born that day (the "birth date + address" key) is the thorough review's job.
QUICK_NAME_THRESHOLD = 0.35


def find_candidates(
    uow: UnitOfWork, card: PersonCard, *, limit: int = 20, min_score: float = 0.5, thorough: bool = True
) -> list[Candidate]:
    """Persons that may be the same human as ``card``, best first.

    ``card`` need not be stored (an incoming record can be checked before it is registered). The searches
    only *gather* persons cheaply on indexed keys, generously (typo variants, history rows included);
    :func:`rserz_soap.domain.duplicates.score` decides. The person itself and merged persons are never
    returned: a merged person already resolves to its survivor.

    ``thorough=False`` skips the trigram scans across birth dates (a typo in the year, any birth date):
    the gate every new registration passes in the buffer uses the exact-date and key searches only, and
    the operator's duplicate review uses everything.
    """
    with uow:
        ids = _gather(uow, card, thorough)
        if card.person_id is not None:
            ids.discard(card.person_id)
        ids -= uow.merges.merged(ids)
        others = uow.persons.load_many(ids)
    found: list[Candidate] = []
    for person_id, other in sorted(others.items()):
        if other.status is Status.MERGED:
            continue
        s = score(card, other)
        if s.total >= min_score:
            found.append(Candidate(person_id, s))
    found.sort(key=lambda c: (-c.score.total, c.person_id))
    return found[:limit]


def _gather(uow: UnitOfWork, card: PersonCard, thorough: bool = True) -> set[int]:
    """The persons the searches gather: the key searches and the same-day names in one statement (a new
    registration's gate runs only these), then, when ``thorough``, the two trigram scans."""
    search = uow.search
    d = card.data
    lookups: list[Lookup] = []
    if d.ss:
        lookups.append(search.snils_lookup(d.ss, include_history=True, tag="_ss"))
    for i, doc in enumerate(card.documents):
        doctype, series, number = doc.key
        variants = {(series, number)}
        variants |= {(series, n) for n in swapped_variants(number)}
        variants |= {(s, number) for s in swapped_variants(series)}
        for j, (s, n) in enumerate(sorted(variants)):
            lookups.append(
                search.document_lookup(doctype, s or None, n, include_history=True, tag=f"_{i}_{j}")
            )
    lookups.append(
        search.name_lookup(
            d.fam,
            d.im,
            d.ot,
            dr=d.dr,
            threshold=0.0 if thorough else QUICK_NAME_THRESHOLD,
            limit=SAME_BIRTH_DATE_LIMIT,
            include_history=True,
            tag="_name",
        )
    )
    ids = search.any_of(lookups)
    if not thorough:
        return ids
    ids.update(
        m.person_id
        for m in search.fuzzy_by_name(
            d.fam,
            d.im,
            d.ot,
            dr_from=d.dr - NEAR_BIRTH_DATE,
            dr_to=d.dr + NEAR_BIRTH_DATE,
            limit=NEAR_BIRTH_DATE_LIMIT,
            include_history=True,
        )
    )
    ids.update(
        m.person_id
        for m in search.fuzzy_by_name(
            d.fam,
            d.im,
            d.ot,
            threshold=ANY_BIRTH_DATE_THRESHOLD,
            limit=ANY_BIRTH_DATE_LIMIT,
            include_history=True,
        )
    )
    return ids


# --- merge ------------------------------------------------------------------------------------------------


def merge(
    uow: UnitOfWork,
    survivor_id: int,
    merged_id: int,
    *,
    actor: str,
    reason: str | None = None,
    on: date | None = None,
) -> MergeResult:
    """Make ``merged_id`` a duplicate of ``survivor_id`` as of ``on`` (today by default).

    The merged person: its open insurance is stopped (reason 5, duplicate) with a STOPLIST notice to its
    СМО when that is not the survivor's СМО; its active attachments are closed; its status becomes
    ``merged``. Its documents, СНИЛС and data stay on its card as they were — the merged card is the
    record of what the duplicate said, and an unmerge needs nothing back from the survivor to restore it.

    The survivor keeps its own insurance and takes over only what it lacks and what cannot conflict with
    what it has: the СНИЛС if it has none; a document of a type it holds no document of (two current
    passports would make "the main document" ambiguous, so an older or newer one of the same type is
    left on the merged card); an active attachment of an area type it is not attached for (the human
    chose that МО; closing it would leave them unattached). Everything taken over is undone by unmerge.

    Refused: a person with itself; either person already merged; a survivor without open insurance while
    the duplicate has one (the insured record must be the one that stays, or the human loses insurance).
    """
    if survivor_id == merged_id:
        raise MergeError(SELF_MERGE, f"person {survivor_id} cannot be merged with itself")
    with uow:
        return _merge(uow, survivor_id, merged_id, actor, reason, on or date.today())


def _merge(
    uow: UnitOfWork, survivor_id: int, merged_id: int, actor: str, reason: str | None, day: date
) -> MergeResult:
    stored = _lock(uow, survivor_id, merged_id)
    survivor, merged = stored[survivor_id].card, stored[merged_id].card
    merged_into = uow.persons.merged_into(stored)
    for pid, st in stored.items():
        if st.card.status is Status.MERGED or merged_into[pid] is not None:
            raise MergeError(ALREADY_MERGED, f"person {pid} is already merged into {merged_into[pid]}")

    kept = survivor.open_period()
    open_merged = sorted((p for p in merged.insurance if p.is_open), key=lambda p: (p.dbeg, p.npolis))
    if open_merged and kept is None:
        raise MergeError(
            SURVIVOR_NOT_INSURED,
            f"{survivor_id} has no open insurance but {merged_id} has: keep the insured one",
        )
    closed = {p: p.stopped(max(day, p.dbeg), StopReason.DUPLICATE) for p in open_merged}
    notices = tuple(
        StopNotice(p.smo_code, p.enp, StopReason.DUPLICATE, c.dstop or day)
        for p, c in closed.items()
        if kept is None or p.smo_code != kept.smo_code
    )
    active = [a for a in merged.attachments if _active_after(a, day)]
    merged_after = merged.replace(
        status=Status.MERGED,
        insurance=frozenset(closed.get(p, p) for p in merged.insurance),
        attachments=frozenset(
            dataclasses.replace(a, date_out=max(day, a.date_in)) if a in active else a
            for a in merged.attachments
        ),
    )
    survivor_after, taken = _take_over(survivor, merged, active, day)

    meta = VersionMeta(MERGE, SOURCE_KIND, SOURCE_CODE, day, actor=actor, reason=reason)
    survivor_version = uow.persons.save(stored[survivor_id], survivor_after, meta)
    merged_version = uow.persons.save(stored[merged_id], merged_after, meta, notices)
    moment = uow.merges.clock()
    moved = uow.merges.move_aliases(merged_id, survivor_id, reason=ALIAS_REASON_MERGE, at=moment)
    uow.merges.set_merged_into(merged_id, survivor_id)
    merge_id = uow.merges.record(
        survivor_id,
        merged_id,
        actor=actor,
        reason=reason,
        survivor_version_id=survivor_version.version_id,
        merged_version_id=merged_version.version_id,
        at=moment,
    )
    return MergeResult(
        merge_id=int(merge_id),
        survivor_id=survivor_id,
        merged_id=merged_id,
        survivor_version=survivor_version,
        merged_version=merged_version,
        moved_enps=tuple(sorted(moved)),
        closed_periods=tuple(closed.values()),
        stop_notices=notices,
        taken_over=taken,
    )


def _take_over(
    survivor: PersonCard, merged: PersonCard, active: list[Attachment], day: date
) -> tuple[PersonCard, tuple[str, ...]]:
    taken: list[str] = []
    data = survivor.data
    if not data.ss and merged.data.ss:
        data = dataclasses.replace(data, ss=merged.data.ss)
        taken.append(f"СНИЛС {merged.data.ss}")
    held_types = {d.doctype for d in survivor.documents}
    documents = set(survivor.documents)
    for doc in sorted(merged.documents, key=lambda d: d.key):
        if doc.doctype not in held_types:
            documents.add(doc)
            taken.append(f"документ {doc.doctype} {doc.key[1]} {doc.key[2]}")
    attached = {a.area_type for a in survivor.attachments if _active_after(a, day)}
    attachments = set(survivor.attachments)
    for a in sorted(active, key=lambda a: (a.area_type, a.date_in, a.mo_code)):
        if a.area_type not in attached:
            attachments.add(a)
            attached.add(a.area_type)
            taken.append(f"прикрепление к МО {a.mo_code} (тип участка {a.area_type})")
    after = survivor.replace(data=data, documents=frozenset(documents), attachments=frozenset(attachments))
    return after, tuple(taken)


def _active_after(a: Attachment, day: date) -> bool:
    """Still in force on ``day`` or later: what a merge on ``day`` must close (or may take over)."""
    return a.date_out is None or a.date_out > day


# --- unmerge ----------------------------------------------------------------------------------------------


def unmerge(
    uow: UnitOfWork, merge_id: int, *, actor: str, reason: str | None = None, on: date | None = None
) -> UnmergeResult:
    """Undo merge ``merge_id`` as of ``on`` (today by default), as a new version of both cards.

    The merged person gets back its status, the insurance periods and attachments the merge closed — each
    as a new row identical to the one the merge superseded (the closed row is superseded in turn, so the
    history shows merge and unmerge) — and every ЕНП the merge moved (its main ЕНП main again; the rows'
    reason becomes ``unmerge``). The survivor loses what it took over, where that is still as the merge
    left it. ``person_merge.unmerged_at``/``unmerged_by`` record the undo; the row is never deleted.

    Refused: an unknown merge; one already undone; one overtaken since (the merged person is no longer
    merged into this survivor, or the survivor has itself been merged — undo that merge first).
    """
    with uow:
        return _unmerge(uow, merge_id, actor, reason, on or date.today())


def _unmerge(uow: UnitOfWork, merge_id: int, actor: str, reason: str | None, day: date) -> UnmergeResult:
    row = uow.merges.lock(merge_id)
    if row is None:
        raise MergeError(UNKNOWN_MERGE, f"no merge {merge_id}")
    if row.unmerged_at is not None:
        raise MergeError(
            ALREADY_UNMERGED, f"merge {merge_id} was undone at {row.unmerged_at} by {row.unmerged_by}"
        )
    if row.survivor_version_id is None or row.merged_version_id is None:
        raise MergeError(MERGE_OVERTAKEN, f"merge {merge_id} has no version ids: it cannot be undone")
    survivor_id, merged_id = row.survivor_id, row.merged_id
    stored = _lock(uow, survivor_id, merged_id)
    survivor, merged = stored[survivor_id].card, stored[merged_id].card
    merged_into = uow.persons.merged_into(stored)
    if merged.status is not Status.MERGED or merged_into[merged_id] != survivor_id:
        raise MergeError(MERGE_OVERTAKEN, f"person {merged_id} is no longer merged into {survivor_id}")
    if survivor.status is Status.MERGED or merged_into[survivor_id] is not None:
        raise MergeError(
            MERGE_OVERTAKEN,
            f"person {survivor_id} has since been merged into "
            f"{merged_into[survivor_id]}: undo that merge first",
        )
    moved = uow.merges.aliases_moved_at(survivor_id, reason=ALIAS_REASON_MERGE, at=row.merged_at)
    if merged.enp not in moved:
        raise MergeError(MERGE_OVERTAKEN, f"ЕНП {merged.enp} is not where merge {merge_id} left it")

    merged_after = uow.merges.undo_version(merged, row.merged_version_id)
    before_data, _ = uow.merges.data_facts(merged_id, row.merged_version_id)
    status = Status(before_data.status) if before_data is not None else Status.NOT_INSURED
    merged_after = merged_after.replace(status=status)
    reopened = tuple(sorted(merged_after.insurance - merged.insurance, key=lambda p: p.dbeg))

    survivor_after = uow.merges.undo_version(survivor, row.survivor_version_id)
    survivor_before, survivor_merged = uow.merges.data_facts(survivor_id, row.survivor_version_id)
    if (
        survivor_before is not None
        and survivor_merged is not None
        and not survivor_before.ss
        and survivor_merged.ss
        and survivor.data.ss == survivor_merged.ss
    ):
        survivor_after = survivor_after.replace(data=dataclasses.replace(survivor_after.data, ss=None))

    meta = VersionMeta(UNMERGE, SOURCE_KIND, SOURCE_CODE, day, actor=actor, reason=reason)
    survivor_version = uow.persons.save(stored[survivor_id], survivor_after, meta)
    merged_version = uow.persons.save(stored[merged_id], merged_after, meta)
    _restore_aliases(uow, merged_id, merged.enp, moved)
    uow.merges.set_merged_into(merged_id, None)
    uow.merges.undone(merge_id, actor)
    return UnmergeResult(merge_id, survivor_version, merged_version, tuple(sorted(moved)), reopened, status)


def _restore_aliases(uow: UnitOfWork, merged_id: int, main_enp: str | None, moved: Iterable[str]) -> None:
    """Point the ЕНП a merge moved back at ``merged_id``, as they were before that merge.

    An ЕНП that reached ``merged_id`` through an earlier merge still in force gets back that merge's
    reason and instant, so undoing *that* merge later finds it (merges undo like a stack). The main ЕНП is
    main again; any other ЕНП (an old number after a correction) gets reason ``unmerge``.
    """
    earlier: dict[str, datetime] = {}
    for inner_id, at in uow.merges.merges_into(merged_id):
        earlier.update(dict.fromkeys(uow.merges.enps_of(inner_id), at))
    for enp in moved:
        if enp == main_enp:
            uow.merges.point_alias(enp, merged_id, is_main=True, reason=ALIAS_REASON_UNMERGE, at=None)
        elif enp in earlier:
            uow.merges.point_alias(enp, merged_id, is_main=False, reason=ALIAS_REASON_MERGE, at=earlier[enp])
        else:
            uow.merges.point_alias(enp, merged_id, is_main=False, reason=ALIAS_REASON_UNMERGE, at=None)


# --- shared -----------------------------------------------------------------------------------------------


def _lock(uow: UnitOfWork, *person_ids: int) -> dict[int, StoredCard]:
    """Load and lock the persons in ascending id order — the one order every two-person use case uses."""
    return {pid: uow.persons.load(pid, for_update=True) for pid in sorted(set(person_ids))}


def merges_of(uow: UnitOfWork, person_id: int) -> list[MergeRow]:
    """Every merge the person took part in, newest first (the ones not undone can be undone)."""
    with uow:
        return uow.merges.of_person(person_id)
