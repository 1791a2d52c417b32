"""Person cards in PostgreSQL: load the current state, store a transition as a new version.

Storing never edits a fact: rows that left the card get ``superseded_at``/``superseded_by``; for facts
with valid time of their own (data, documents, addresses) the part of the old slice that stays true —
up to the day before the change — is written back as a closed slice, so "state on D as known now" keeps
answering for dates before the change. The person row's ``version_no`` is the lock every change takes:
``SELECT … FOR UPDATE`` when loading for a change and a compare-and-increment when saving.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from psycopg.rows import dict_row
from sqlalchemy import Connection, Table, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from rserz_soap.db.bulk import raw_connection
from rserz_soap.db.engine import statement
from rserz_soap.db.tables import (
    address,
    attachment,
    change_journal,
    enp_alias,
    identity_document,
    insurance_period,
    person,
    person_data,
    person_version,
    stop_list_entry,
)
from rserz_soap.domain.operations import StopNotice
from rserz_soap.domain.person import (
    Address,
    Attachment,
    Document,
    InsurancePeriod,
    PersonCard,
    PersonData,
    Status,
)


class ConcurrentChange(Exception):
    """Another transaction changed the person since it was loaded; the caller retries or refuses."""


class PersonNotFound(LookupError):
    pass


@dataclass(frozen=True)
class DataRow:
    """The person_data row: the scalar data plus status and death date (they change together)."""

    data: PersonData
    status: Status
    ddeath: date | None


@dataclass(frozen=True)
class Aspect:
    name: str
    table: Table
    kind: type[Any]
    sliced: bool  # has valid_from/valid_to of its own

    @property
    def columns(self) -> tuple[str, ...]:
        if self.kind is DataRow:
            return (*[f.name for f in fields(PersonData)], "status", "ddeath")
        return tuple(f.name for f in fields(self.kind))


ASPECTS = (
    Aspect("data", person_data, DataRow, sliced=True),
    Aspect("documents", identity_document, Document, sliced=True),
    Aspect("addresses", address, Address, sliced=True),
    Aspect("insurance", insurance_period, InsurancePeriod, sliced=False),
    Aspect("attachments", attachment, Attachment, sliced=False),
)


@dataclass(frozen=True)
class StoredCard:
    """A card as loaded, with the ids of its rows (needed to supersede exactly those rows)."""

    card: PersonCard
    row_ids: Mapping[str, Mapping[Any, tuple[int, date | None]]] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionMeta:
    """Who and why: the source of a change (an СМО, ФЕРЗЛ, ЗАГС, an operator …)."""

    operation: str
    source_kind: str
    source_code: str
    valid_from: date
    actor: str | None = None
    buffer_entry_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class SavedVersion:
    person_id: int
    version_id: int
    version_no: int
    recorded_at: datetime


CURRENT_ROWS = {
    a.name: "superseded_at IS NULL" + (" AND valid_to IS NULL" if a.sliced else "") for a in ASPECTS
}


def _agg(aspect: Aspect, condition: str) -> str:
    valid_from = "t.valid_from" if aspect.sliced else "NULL"
    cols = "".join(f", '{c}', t.{c}" for c in aspect.columns)
    return (
        f"(SELECT coalesce(json_agg(json_build_object('id', t.id, 'valid_from', {valid_from}{cols})), '[]')"
        f" FROM {aspect.table.name} t WHERE t.person_id = p.id AND {condition}) AS {aspect.name}"
    )


def _load_sql(conditions: Mapping[str, str]) -> str:
    return (
        "SELECT p.id, p.main_enp, p.version_no, p.merged_into, "
        + ", ".join(_agg(a, conditions[a.name]) for a in ASPECTS)
        + ", (SELECT coalesce(json_agg(a.enp), '[]') FROM enp_alias a WHERE a.person_id = p.id AND NOT a.is_main)"
        " AS aliases FROM person p WHERE p.id = :id"
    )


_LOAD_SQL = _load_sql(CURRENT_ROWS)
_DATE_FIELDS = {
    "dr",
    "ddeath",
    "docdate",
    "docexp",
    "dbeg",
    "dend",
    "dstop",
    "date_in",
    "date_out",
    "registered_on",
    "valid_from",
}


_FIELD_SPECS: dict[Any, tuple[tuple[str, bool], ...]] = {}


def _field_spec(kind: Any) -> tuple[tuple[str, bool], ...]:
    """A dataclass's field names, each with whether it holds a date, asked of ``dataclasses.fields`` once
    per class, not once per row."""
    spec = _FIELD_SPECS.get(kind)
    if spec is None:
        spec = _FIELD_SPECS[kind] = tuple((f.name, f.name in _DATE_FIELDS) for f in fields(kind))
    return spec


def _fields_of(kind: Any, row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, is_date in _field_spec(kind):
        value = row[name]
        out[name] = date.fromisoformat(value) if is_date and value is not None else value
    return out


def _value(aspect: Aspect, row: Mapping[str, Any]) -> Any:
    if aspect.kind is DataRow:
        ddeath = row["ddeath"]
        return DataRow(
            PersonData(**_fields_of(PersonData, row)),
            Status(row["status"]),
            date.fromisoformat(ddeath) if ddeath is not None else None,
        )
    return aspect.kind(**_fields_of(aspect.kind, row))


def load(conn: Connection, person_id: int, *, for_update: bool = False) -> StoredCard:
    """The current card (every current row, open valid-time slices).

    ``for_update`` first locks the person row in a statement of its own and only then reads the card: in
    READ COMMITTED a statement that waited for a lock still reads the other tables with its old
    snapshot, so reading in the locking statement could return a card older than the lock.
    """
    if for_update:
        locked = conn.execute(
            text("SELECT id FROM person WHERE id = :id FOR UPDATE"), {"id": person_id}
        ).first()
        if locked is None:
            raise PersonNotFound(person_id)
    stored = _load(conn, _LOAD_SQL, {"id": person_id})
    if stored is None:
        raise ValueError(f"person {person_id} has no current data row")
    return stored


def _load(conn: Connection, sql: str, params: Mapping[str, Any]) -> StoredCard | None:
    row = conn.execute(statement(sql), params).mappings().one_or_none()
    if row is None:
        raise PersonNotFound(params["id"])
    return _from_row(row)


_BY_ENP_SQL = _LOAD_SQL.replace(
    "WHERE p.id = :id", "WHERE p.id = (SELECT person_id FROM enp_alias WHERE enp = %(enp)s)"
)


def load_by_enp(conn: Connection, enp: str) -> PersonCard | None:
    """The current card of the person an ЕНП (main or alias) resolves to, in one round trip.

    The hub's hottest read (getPersonData): it goes straight through the driver on the same connection
    (and transaction), skipping what SQLAlchemy does for every ``text()`` statement — result metadata
    for its 13 columns built anew each time — which cost more CPU than psycopg's own work (profile_soap)."""
    with raw_connection(conn).cursor(row_factory=dict_row) as cur:
        row = cur.execute(_BY_ENP_SQL, {"enp": enp}).fetchone()
    stored = _from_row(row, row_ids=False) if row is not None else None
    return stored.card if stored else None


def load_many_for_update(conn: Connection, person_ids: Iterable[int]) -> dict[int, StoredCard]:
    """Lock several persons (in id order: two workers never wait on each other in a cycle), then read."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    conn.execute(statement("SELECT id FROM person WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"), {"ids": ids})
    sql = _LOAD_SQL.replace("WHERE p.id = :id", "WHERE p.id = ANY(:ids)")
    out: dict[int, StoredCard] = {}
    for row in conn.execute(statement(sql), {"ids": ids}).mappings():
        stored = _from_row(row)
        if stored is None:
            raise ValueError(f"person {row['id']} has no current data row")
        out[row["id"]] = stored
    return out


def load_many(conn: Connection, person_ids: Iterable[int]) -> dict[int, PersonCard]:
    """Current cards of several persons in one query (duplicate search, identification lists)."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    sql = _LOAD_SQL.replace("WHERE p.id = :id", "WHERE p.id = ANY(:ids)")
    cards = {}
    for row in conn.execute(statement(sql), {"ids": ids}).mappings():
        stored = _from_row(row, row_ids=False)
        if stored is not None:
            cards[row["id"]] = stored.card
    return cards


def _from_row(row: Any, *, row_ids: bool = True) -> StoredCard | None:
    """The card of a loaded row; ``row_ids=False`` (a read that only answers) skips the map from each value
    to its row's id, which a change needs to supersede exactly those rows."""
    ids: dict[str, dict[Any, tuple[int, date | None]]] = {}
    values: dict[str, Any] = {}
    for aspect in ASPECTS:
        raw = row[aspect.name]
        items = json.loads(raw) if isinstance(raw, str) else raw
        if not row_ids:
            values[aspect.name] = frozenset([_value(aspect, item) for item in items])
            continue
        ids[aspect.name] = {}
        for item in items:
            valid_from = date.fromisoformat(item["valid_from"]) if item.get("valid_from") else None
            ids[aspect.name][_value(aspect, item)] = (item["id"], valid_from)
        values[aspect.name] = frozenset(ids[aspect.name])
    data_rows: frozenset[DataRow] = values.pop("data")
    if not data_rows:
        return None
    if len(data_rows) != 1:
        raise ValueError(f"person {row['id']} has {len(data_rows)} data rows for one moment")
    (current,) = data_rows
    aliases = row["aliases"] if not isinstance(row["aliases"], str) else json.loads(row["aliases"])
    card = PersonCard(
        data=current.data,
        status=current.status,
        ddeath=current.ddeath,
        person_id=row["id"],
        enp=row["main_enp"],
        aliases=frozenset(aliases),
        version_no=row["version_no"],
        **values,
    )
    return StoredCard(card, ids)


_SLICE_ON = "superseded_at IS NULL AND (valid_from IS NULL OR valid_from <= :d) AND (valid_to IS NULL OR valid_to >= :d)"
_AS_OF_SQL = _load_sql(
    {
        "data": _SLICE_ON,
        "documents": _SLICE_ON,
        "addresses": _SLICE_ON,
        "insurance": "superseded_at IS NULL AND dbeg <= :d",
        "attachments": "superseded_at IS NULL AND date_in <= :d",
    }
)
_KNOWN = "recorded_at <= :m AND (superseded_at IS NULL OR superseded_at > :m)"
_KNOWN_SQL = _load_sql({a.name: _KNOWN + (" AND valid_to IS NULL" if a.sliced else "") for a in ASPECTS})


def load_as_of(conn: Connection, person_id: int, day: date) -> PersonCard | None:
    """The person's state on ``day`` as the register knows it now (valid time); None if not yet known.

    Periods and attachments that ended after ``day`` were open on it, so they are shown open.
    """
    stored = _load(conn, _AS_OF_SQL, {"id": person_id, "d": day})
    if stored is None:
        return None
    card = stored.card
    periods = [
        p if p.dstop is None or p.dstop <= day else dataclasses.replace(p, dstop=None, stop_reason=None)
        for p in card.insurance
    ]
    attached = [
        a if a.date_out is None or a.date_out <= day else dataclasses.replace(a, date_out=None)
        for a in card.attachments
    ]
    ddeath = card.ddeath if card.ddeath is not None and card.ddeath <= day else None
    return card.replace(insurance=frozenset(periods), attachments=frozenset(attached), ddeath=ddeath)


def load_known_on(conn: Connection, person_id: int, moment: datetime) -> PersonCard | None:
    """What the register held about the person at ``moment`` (record time); None if it did not know them."""
    stored = _load(conn, _KNOWN_SQL, {"id": person_id, "m": moment})
    return stored.card if stored else None


def find_by_enp(conn: Connection, enp: str) -> int | None:
    """The person an ЕНП belongs to — main or alias (merged duplicates keep resolving)."""
    return conn.execute(select(enp_alias.c.person_id).where(enp_alias.c.enp == enp)).scalar_one_or_none()


def _aspect_values(card: PersonCard, aspect: Aspect) -> frozenset[Any]:
    if aspect.kind is DataRow:
        return frozenset({DataRow(card.data, card.status, card.ddeath)})
    return frozenset(getattr(card, aspect.name))


def _row(aspect: Aspect, value: Any) -> dict[str, Any]:
    if aspect.kind is DataRow:
        return {**dataclasses.asdict(value.data), "status": value.status.value, "ddeath": value.ddeath}
    return dataclasses.asdict(value)


@dataclass(frozen=True)
class SavePlan:
    """One person's next version: the card as loaded (None for a new person) and the card to store."""

    before: StoredCard | None
    after: PersonCard
    meta: VersionMeta
    stop_notices: tuple[StopNotice, ...] = ()


def save(
    conn: Connection,
    before: StoredCard | None,
    after: PersonCard,
    meta: VersionMeta,
    stop_notices: Iterable[StopNotice] = (),
) -> SavedVersion:
    """Write ``after`` as the person's next version; raise ConcurrentChange if ``before`` is stale."""
    return save_many(conn, [SavePlan(before, after, meta, tuple(stop_notices))])[0]


def save_many(conn: Connection, plans: Sequence[SavePlan]) -> list[SavedVersion]:
    """Write the next version of several *different* persons with a fixed number of statements.

    Ids of new persons and versions are drawn from their sequences up front, so every row can be written
    with multi-row statements: the person rows' compare-and-increment, the versions, per aspect one
    UPDATE of superseded rows and one INSERT of new ones, the change journal and the stop list. Any
    stale card (its person's version moved on, or one of its rows was superseded meanwhile) raises
    ConcurrentChange and the caller's transaction must be rolled back.
    """
    if not plans:
        return []
    if any(p.after.enp is None for p in plans):
        raise ValueError("a card is saved with its main ЕНП")
    existing = [p.before.card.person_id for p in plans if p.before is not None]
    if len(set(existing)) != len(existing):
        raise ValueError("save_many takes one plan per person")
    fresh = [p for p in plans if p.before is None]
    ids = conn.execute(_IDS_SQL, {"persons": len(fresh), "versions": len(plans)}).one()
    person_ids = iter(ids.person_ids or [])
    now = ids.now
    person_of: list[int] = []
    version_no_of: list[int] = []
    new_people = []
    for p in plans:
        if p.before is None:
            pid = next(person_ids)
            new_people.append({"id": pid, "main_enp": p.after.enp, "version_no": 1})
            person_of.append(pid)
            version_no_of.append(1)
        else:
            assert p.before.card.person_id is not None
            person_of.append(p.before.card.person_id)
            version_no_of.append(p.before.card.version_no + 1)
    if new_people:
        conn.execute(insert(person), new_people)
        conn.execute(
            insert(enp_alias),
            [
                {"enp": r["main_enp"], "person_id": r["id"], "is_main": True, "reason": "assigned"}
                for r in new_people
            ],
        )
    olds = [(p.before.card.person_id, p.before.card.version_no) for p in plans if p.before is not None]
    if olds:
        bumped = conn.execute(
            _BUMP_SQL, {"ids": [o[0] for o in olds], "expected": [o[1] for o in olds]}
        ).all()
        if len(bumped) != len(olds):
            moved = sorted({int(o[0] or 0) for o in olds} - {b.id for b in bumped})
            raise ConcurrentChange(f"persons changed since their cards were read: {moved}")
    renumbered = [
        (p.before.card.person_id, p.after.enp)
        for p in plans
        if p.before is not None and p.after.enp != p.before.card.enp
    ]
    for pid, new_enp in renumbered:  # ФЕРЗЛ formed a new ЕНП (sex or birth date changed)
        conn.execute(update(person).where(person.c.id == pid).values(main_enp=new_enp))
        conn.execute(update(enp_alias).where(enp_alias.c.person_id == pid).values(is_main=False))
        conn.execute(
            pg_insert(enp_alias)
            .values(enp=new_enp, person_id=pid, is_main=True, reason="correction")
            .on_conflict_do_update(index_elements=["enp"], set_={"is_main": True})
        )
    version_ids = list(ids.version_ids)
    conn.execute(
        insert(person_version),
        [
            {
                "id": vid,
                "person_id": pid,
                "version_no": no,
                "operation": p.meta.operation,
                "source_kind": p.meta.source_kind,
                "source_code": p.meta.source_code,
                "valid_from": p.meta.valid_from,
                "recorded_at": now,
                "actor": p.meta.actor,
                "buffer_entry_id": p.meta.buffer_entry_id,
                "reason": p.meta.reason,
            }
            for p, pid, no, vid in zip(plans, person_of, version_no_of, version_ids, strict=True)
        ],
    )
    for aspect in ASPECTS:
        _store_aspect(conn, aspect, plans, person_of, version_ids, now)
    journal, notices = [], []
    for p, pid, vid in zip(plans, person_of, version_ids, strict=True):
        period = p.after.open_period()
        mo_codes = " ".join(sorted({a.mo_code for a in p.after.attachments if a.date_out is None})) or None
        journal.append(
            {
                "person_id": pid,
                "version_id": vid,
                "operation": p.meta.operation,
                "smo_code": period.smo_code if period else None,
                "mo_codes": mo_codes,
                "recorded_at": now,
            }
        )
        notices += [
            {
                "smo_code": n.smo_code,
                "person_id": pid,
                "version_id": vid,
                "enp": n.enp,
                "reason": n.reason,
                "stop_date": n.stop_date,
            }
            for n in p.stop_notices
        ]
    conn.execute(insert(change_journal), journal)
    if notices:
        conn.execute(insert(stop_list_entry), notices)
    return [
        SavedVersion(pid, vid, no, now)
        for pid, vid, no in zip(person_of, version_ids, version_no_of, strict=True)
    ]


_IDS_SQL = text(
    "SELECT ARRAY(SELECT nextval(pg_get_serial_sequence('person', 'id')) FROM generate_series(1, :persons))"
    " AS person_ids, ARRAY(SELECT nextval(pg_get_serial_sequence('person_version', 'id'))"
    " FROM generate_series(1, :versions)) AS version_ids, now() AS now"
)
_BUMP_SQL = text(
    "UPDATE person p SET version_no = p.version_no + 1"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:expected AS int[])) AS u(id, expected)"
    " WHERE p.id = u.id AND p.version_no = u.expected RETURNING p.id"
)


def _store_aspect(
    conn: Connection,
    aspect: Aspect,
    plans: Sequence[SavePlan],
    person_of: Sequence[int],
    version_ids: Sequence[int],
    now: datetime,
) -> None:
    gone_ids: list[int] = []
    gone_versions: list[int] = []
    rows: list[dict[str, Any]] = []
    for p, pid, vid in zip(plans, person_of, version_ids, strict=True):
        old = p.before.row_ids.get(aspect.name, {}) if p.before else {}
        new = _aspect_values(p.after, aspect)
        change_date = p.meta.valid_from
        gone = [(v, meta) for v, meta in old.items() if v not in new]
        added = [v for v in new if v not in old]
        gone_ids += [meta[0] for _v, meta in gone]
        gone_versions += [vid] * len(gone)
        base = {"person_id": pid, "version_id": vid, "recorded_at": now}
        if aspect.sliced:
            for value, (_id, valid_from) in gone:
                if valid_from is None or valid_from < change_date:  # what stays true before the change
                    rows.append(
                        {
                            **base,
                            **_row(aspect, value),
                            "valid_from": valid_from,
                            "valid_to": change_date - timedelta(days=1),
                        }
                    )
            # a person's first facts are true since always (a name is not new because the register learnt it)
            since = change_date if old else None
            rows += [{**base, **_row(aspect, v), "valid_from": since, "valid_to": None} for v in added]
        else:
            rows += [{**base, **_row(aspect, v)} for v in added]
    if gone_ids:
        done = conn.execute(
            statement(
                f"UPDATE {aspect.table.name} t SET superseded_at = :now, superseded_by = u.vid"
                " FROM unnest(CAST(:rids AS bigint[]), CAST(:vids AS bigint[])) AS u(rid, vid)"
                " WHERE t.id = u.rid AND t.superseded_at IS NULL"
            ),
            {"now": now, "rids": gone_ids, "vids": gone_versions},
        )
        if done.rowcount != len(gone_ids):  # a row changed under us: a card was stale
            raise ConcurrentChange(f"{aspect.name} changed since the cards were read")
    if rows:
        conn.execute(insert(aspect.table), rows)


def allocate_enp(conn: Connection, region_code: str, birth_date: date, sex: int) -> str:
    """A fresh ЕНП of the region for a person registered for the first time.

    The serial is random within the 100,000 of its (birth date, sex) facet and checked against every
    ЕНП ever assigned (aliases included); ``enp_alias``'s primary key catches the rare concurrent tie.
    """
    import secrets

    from rserz_soap.domain.identifiers import make_enp

    for _ in range(50):
        candidate = make_enp(region_code, birth_date, sex, secrets.randbelow(100_000))
        if find_by_enp(conn, candidate) is None:
            return candidate
    raise RuntimeError(f"no free ЕНП serial for {birth_date} / {sex}")


class Persons:
    """Person cards of one transaction: read the current state or a past one, store the next version."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def load(self, person_id: int, *, for_update: bool = False) -> StoredCard:
        return load(self._conn, person_id, for_update=for_update)

    def load_many(self, person_ids: Iterable[int]) -> dict[int, PersonCard]:
        return load_many(self._conn, person_ids)

    def load_many_for_update(self, person_ids: Iterable[int]) -> dict[int, StoredCard]:
        return load_many_for_update(self._conn, person_ids)

    def card_by_enp(self, enp: str) -> PersonCard | None:
        return load_by_enp(self._conn, enp)

    def as_of(self, person_id: int, day: date) -> PersonCard | None:
        return load_as_of(self._conn, person_id, day)

    def known_on(self, person_id: int, moment: datetime) -> PersonCard | None:
        return load_known_on(self._conn, person_id, moment)

    def find_by_enp(self, enp: str) -> int | None:
        return find_by_enp(self._conn, enp)

    def save(
        self,
        before: StoredCard | None,
        after: PersonCard,
        meta: VersionMeta,
        stop_notices: Iterable[StopNotice] = (),
    ) -> SavedVersion:
        return save(self._conn, before, after, meta, stop_notices)

    def save_many(self, plans: Sequence[SavePlan]) -> list[SavedVersion]:
        return save_many(self._conn, plans)

    def allocate_enp(self, region_code: str, birth_date: date, sex: int) -> str:
        return allocate_enp(self._conn, region_code, birth_date, sex)

    def merged_into(self, person_ids: Iterable[int]) -> dict[int, int | None]:
        """For each person, the survivor it was merged into (None if it stands on its own)."""
        rows = self._conn.execute(
            select(person.c.id, person.c.merged_into).where(person.c.id.in_(list(person_ids)))
        )
        return {int(r.id): r.merged_into for r in rows}

    def lock_new_person_keys(self, keys: Sequence[str]) -> None:
        """Serialise registrations of one new person by its identifiers until this transaction ends."""
        if keys:
            self._conn.execute(_ADVISORY_LOCKS_SQL, {"keys": sorted(keys)})


_ADVISORY_LOCKS_SQL = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k"
)
