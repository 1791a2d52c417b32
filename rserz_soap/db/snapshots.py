"""Who was insured on a date (domain.md §10), and the snapshots (срезы) published from it.

A person counts on D when an insurance period has DBEG ≤ D, is not stopped on or before D, has not
ended before D, the person was not dead on D, not suspended and not merged into another record.

*Published* snapshots are rows of their own (``snapshot_row``, ``snapshot_mo``), written once and
never changed: what money was paid on stays readable as it was. They are built from the register *as it
was known* at the moment of publication (record time: rows recorded by then and not yet superseded), so
rebuilding a published snapshot later — after corrections of the past — gives the same rows and the same
checksum. Live answers for an unpublished date use the same query as known now.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Date, text
from sqlalchemy.dialects import postgresql

from rserz_soap.db.tables import snapshot_row
from rserz_soap.domain.snapshot import EXPORT_FIELDS, ExportRow, InsuredRow


def _current(alias: str, sliced: bool = False) -> str:
    """Rows current at :m (record time), or now when :m is NULL."""
    cond = (
        f"({alias}.superseded_at IS NULL OR {alias}.superseded_at > coalesce(:m, 'infinity'))"
        f" AND {alias}.recorded_at <= coalesce(:m, 'infinity')"
    )
    return cond + (f" AND {alias}.valid_to IS NULL" if sliced else "")


# One row per insured person on :d (the latest period that covers the day), as known at :m.
_INSURED = f"""
SELECT DISTINCT ON (i.person_id) i.person_id, p.main_enp AS enp, d.fam, d.im, d.ot, d.dr, d.w, i.smo_code,
  i.vpolis, i.spolis, i.npolis, i.dbeg, i.dend,
  (SELECT string_agg(a.mo_code, ' ' ORDER BY a.area_type, a.mo_code) FROM attachment a
   WHERE a.person_id = i.person_id AND {_current("a")} AND a.date_in <= :d
   AND (a.date_out IS NULL OR a.date_out > :d)) AS mo_codes
FROM insurance_period i
JOIN person p ON p.id = i.person_id
JOIN person_data d ON d.person_id = i.person_id AND {_current("d", sliced=True)}
WHERE {_current("i")} AND i.dbeg <= :d AND (i.dstop IS NULL OR i.dstop > :d)
  AND (i.dend IS NULL OR i.dend >= :d) AND (d.ddeath IS NULL OR d.ddeath > :d)
  AND d.status NOT IN ('suspended', 'merged')
ORDER BY i.person_id, i.dbeg DESC, i.id DESC
"""

_ROW_TEXT = (
    "concat_ws('|', r.enp, r.person_id, r.fam, r.im, r.ot, r.dr, r.w, r.smo_code, r.vpolis, r.spolis,"
    " r.npolis, r.dbeg, r.dend, r.mo_codes)"
)


# ``snapshot_row``'s columns (tables.py) as the snapshot's query gives them, typed as stored, for the
# CREATE TABLE … AS of a snapshot's partition; which are NOT NULL there; which the exports coalesce and
# which are dates
_PG = postgresql.dialect()  # type: ignore[no-untyped-call]
_ROW_CASTS = ", ".join(
    f"CAST(r.{c.name} AS {c.type.compile(dialect=_PG)}) AS {c.name}"
    for c in snapshot_row.columns
    if c.name != "snapshot_id"
)
_ROW_NOT_NULL = tuple(c.name for c in snapshot_row.columns if not c.nullable)
_NULLABLE_EXPORT = frozenset(c.name for c in snapshot_row.columns if c.nullable)
_DATES = frozenset(c.name for c in snapshot_row.columns if isinstance(c.type, Date))


def _export_column(name: str) -> str:
    """A ``snapshot_row`` column as export text: dates ГГГГ-ММ-ДД whatever the session's DateStyle, "" for
    an absent value."""
    value = f"to_char({name}, 'YYYY-MM-DD')" if name in _DATES else f"{name}::text"
    return f"coalesce({value}, '')" if name in _NULLABLE_EXPORT else value


#: memory for the build's sort and hashes (``SET LOCAL``: this transaction only)
BUILD_WORK_MEM = "256MB"


@dataclass(frozen=True)
class SnapshotInfo:
    id: int
    day: date
    state: str
    persons: int
    checksum: str | None
    counts: dict[str, Any]
    published_at: datetime | None
    built_at: datetime


# the counts by СМО, sex and age band in one pass over the rows (GROUPING SETS), and by МО from its table
_COUNTS = """
SELECT jsonb_build_object(
  'smo', coalesce(jsonb_object_agg(smo_code, n) FILTER (WHERE g = 3), '{}'),
  'mo', (SELECT coalesce(jsonb_object_agg(mo_code, n), '{}') FROM
          (SELECT mo_code, count(*) n FROM snapshot_mo WHERE snapshot_id = :s GROUP BY 1) x),
  'sex', coalesce(jsonb_object_agg(w, n) FILTER (WHERE g = 5), '{}'),
  'age', coalesce(jsonb_object_agg(band, n) FILTER (WHERE g = 6), '{}'))
FROM (SELECT smo_code, w::text AS w, band, count(*) n, GROUPING(smo_code, w, band) g
      FROM (SELECT smo_code, w, CASE WHEN a < 1 THEN '0' WHEN a < 18 THEN '1-17' WHEN a < 65 THEN '18-64'
                                     ELSE '65+' END AS band
            FROM (SELECT smo_code, w, extract(year FROM age(:d, dr))::int AS a
                  FROM snapshot_row WHERE snapshot_id = :s) y) z
      GROUP BY GROUPING SETS ((smo_code), (w), (band))) c
"""


class Snapshots:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def insured_on(
        self,
        day: date,
        *,
        smo: str | None = None,
        mo: str | None = None,
        page: int = 1,
        page_size: int = 100,
    ) -> tuple[int, list[InsuredRow]]:
        """Persons insured on ``day`` as known now (optionally of one СМО or attached to one МО), by ЕНП."""
        where, params = _filters(smo, mo)
        params.update({"d": day, "m": None, "lim": page_size, "off": (page - 1) * page_size})
        base = f"SELECT * FROM ({_INSURED}) r WHERE true{where}"
        total = self._conn.execute(text(f"SELECT count(*) FROM ({base}) t"), params).scalar_one()
        rows = self._conn.execute(text(f"{base} ORDER BY r.enp LIMIT :lim OFFSET :off"), params)
        return int(total), [_row(r) for r in rows]

    # -- published snapshots ---------------------------------------------------------------------------

    def get(self, day: date) -> SnapshotInfo | None:
        row = self._conn.execute(text("SELECT * FROM snapshot WHERE day = :d"), {"d": day}).first()
        return _info(row) if row is not None else None

    def lock_day(self, day: date) -> None:
        """One publisher per day at a time (two scheduler ticks, an operator and the scheduler)."""
        self._conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('rserz:snapshot'), :k)"), {"k": day.toordinal()}
        )

    def published(self, first: date | None, last: date | None) -> list[SnapshotInfo]:
        rows = self._conn.execute(
            text(
                "SELECT * FROM snapshot WHERE state = 'published' AND day >= coalesce(:f, '-infinity'::date)"
                " AND day <= coalesce(:l, 'infinity'::date) ORDER BY day DESC"
            ),
            {"f": first, "l": last},
        )
        return [_info(r) for r in rows]

    def build(self, day: date, actor: str, *, settle_seconds: float = 60.0) -> SnapshotInfo:
        """Write the rows of ``day`` as the register knows them at this transaction's start, and publish.

        The moment is stored as ``published_at``, and :meth:`checksum_as_known` rebuilds the same rows from
        it. That holds only if nothing recorded before the moment is still uncommitted: a change's
        ``recorded_at`` is its transaction's start, so the build first waits until every transaction older
        than its own has ended (as the changes feed does, ``db/feed.py``)."""
        self._settle(settle_seconds)
        # the sort by ЕНП and the hash of the attachments of a million persons fit in memory, not on disk
        self._conn.execute(text(f"SET LOCAL work_mem = '{BUILD_WORK_MEM}'"))
        sid = int(
            self._conn.execute(
                text(
                    "INSERT INTO snapshot (day, state, actor, built_at) VALUES (:d, 'building', :a, now())"
                    " RETURNING id"
                ),
                {"d": day, "a": actor},
            ).scalar_one()
        )
        params = {"s": sid, "d": day}
        # The rows go into a table of their own, made by one CREATE TABLE … AS (which PostgreSQL may run in
        # parallel, unlike INSERT … SELECT) with no index and no per-row foreign-key trigger, in ЕНП order;
        # attaching it as the snapshot's partition builds the indexes in one sorted pass each and checks the
        # foreign key once (migration 0014). ``sid`` is the integer the database just gave: a safe name.
        rows, mos = f"snapshot_row_{sid}", f"snapshot_mo_{sid}"
        self._conn.execute(
            text(
                f"CREATE TABLE {rows} AS SELECT CAST(:s AS integer) AS snapshot_id, {_ROW_CASTS}"
                f" FROM ({_INSURED}) r ORDER BY r.enp"
            ),
            {**params, "m": self._now()},
        )
        self._conn.execute(
            text(f"ALTER TABLE {rows} " + ", ".join(f"ALTER COLUMN {c} SET NOT NULL" for c in _ROW_NOT_NULL))
        )
        self._conn.execute(text(f"CREATE TABLE {mos} (LIKE snapshot_mo)"))
        self._conn.execute(
            text(
                f"INSERT INTO {mos} (snapshot_id, mo_code, enp) SELECT DISTINCT :s, m, r.enp"
                f" FROM {rows} r, unnest(string_to_array(r.mo_codes, ' ')) AS m WHERE r.mo_codes IS NOT NULL"
            ),
            params,
        )
        for parent, part in (("snapshot_row", rows), ("snapshot_mo", mos)):
            self._conn.execute(text(f"ALTER TABLE {parent} ATTACH PARTITION {part} FOR VALUES IN ({sid})"))
        checksum = self._conn.execute(
            text(
                f"SELECT encode(sha256(convert_to(coalesce(string_agg({_ROW_TEXT}, E'\\n' ORDER BY r.enp), ''),"
                " 'UTF8')), 'hex') FROM snapshot_row r WHERE r.snapshot_id = :s"
            ),
            params,
        ).scalar_one()
        self._conn.execute(
            text(
                "UPDATE snapshot SET state = 'published', published_at = now(), checksum = :c, counts = "
                f"({_COUNTS}), persons = (SELECT count(*) FROM snapshot_row WHERE snapshot_id = :s) WHERE id = :s"
            ),
            {**params, "c": checksum},
        )
        info = self.get(day)
        assert info is not None
        return info

    def checksum_as_known(self, day: date, moment: datetime) -> tuple[int, str]:
        """Rebuild ``day`` from history as known at ``moment`` (not stored): (persons, checksum)."""
        row = self._conn.execute(
            text(
                f"SELECT count(*), encode(sha256(convert_to(coalesce(string_agg({_ROW_TEXT}, E'\\n'"
                f" ORDER BY r.enp), ''), 'UTF8')), 'hex') FROM ({_INSURED}) r"
            ),
            {"d": day, "m": moment},
        ).one()
        return int(row[0]), str(row[1])

    def page(
        self, snapshot_id: int, *, smo: str | None, mo: str | None, page: int, page_size: int
    ) -> tuple[int, list[InsuredRow]]:
        """A page of a published snapshot's rows (all, one СМО's, or one МО's), in ЕНП order."""
        params: dict[str, Any] = {"s": snapshot_id, "lim": page_size, "off": (page - 1) * page_size}
        if mo is not None:
            params["mo"] = mo
            src = "snapshot_mo x JOIN snapshot_row r ON r.snapshot_id = x.snapshot_id AND r.enp = x.enp"
            where = "x.snapshot_id = :s AND x.mo_code = :mo"
            order = "x.enp"
        else:
            src, where, order = "snapshot_row r", "r.snapshot_id = :s", "r.enp"
            if smo is not None:
                params["smo"] = smo
                where += " AND r.smo_code = :smo"
        total = self._conn.execute(text(f"SELECT count(*) FROM {src} WHERE {where}"), params).scalar_one()
        rows = self._conn.execute(
            text(f"SELECT r.* FROM {src} WHERE {where} ORDER BY {order} LIMIT :lim OFFSET :off"), params
        )
        return int(total), [_row(r) for r in rows]

    def stream(self, snapshot_id: int) -> Iterator[ExportRow]:
        """Every row of a published snapshot in ЕНП order as text (``EXPORT_FIELDS``), through ``COPY … TO
        STDOUT`` in this unit of work's transaction: an export of a million rows holds one row at a time, pays
        one query, and builds no date or row object per person: a line is split at its tabs, and only a line
        holding a backslash escape is unescaped value by value."""
        columns = ", ".join(_export_column(c) for c in EXPORT_FIELDS)
        cursor = self._conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        # snapshot_id is an integer; COPY takes no bind parameters
        query = f"COPY (SELECT {columns} FROM snapshot_row WHERE snapshot_id = {int(snapshot_id)} ORDER BY enp) TO STDOUT"
        with cursor, cursor.copy(query) as copy:
            for data in copy:  # PostgreSQL sends one row per message
                line = bytes(data).decode()[:-1]
                fields = line.split("\t")
                yield tuple(map(copy_text_value, fields)) if "\\" in line else tuple(fields)

    def _settle(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._conn.execute(
            text("SELECT pg_snapshot_xmin(pg_current_snapshot()) >= pg_current_xact_id()")
        ).scalar_one():
            if time.monotonic() > deadline:
                raise TimeoutError("older transactions are still running; the snapshot is not built")
            time.sleep(0.1)

    def _now(self) -> datetime:
        now: datetime = self._conn.execute(text("SELECT now()")).scalar_one()
        return now


_COPY_ESCAPE = re.compile(r"\\(.)")
_COPY_ESCAPED = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def copy_text_value(field: str) -> str:
    r"""A value as ``COPY … TO`` writes it in text format, unescaped: a backslash arrives as ``\\`` and the
    control characters as ``\b \f \n \r \t \v`` (no NULL arrives: the exported columns are coalesced)."""
    return _COPY_ESCAPE.sub(lambda m: _COPY_ESCAPED.get(m.group(1), m.group(1)), field)


def _filters(smo: str | None, mo: str | None) -> tuple[str, dict[str, Any]]:
    where, params = "", {}
    if smo is not None:
        where += " AND r.smo_code = :smo"
        params["smo"] = smo
    if mo is not None:
        where += " AND :mo = ANY(string_to_array(r.mo_codes, ' '))"
        params["mo"] = mo
    return where, params


def _row(r: Any) -> InsuredRow:
    return InsuredRow(
        r.person_id,
        r.enp,
        r.fam,
        r.im,
        r.ot,
        r.dr,
        r.w,
        r.smo_code,
        r.vpolis,
        r.spolis,
        r.npolis,
        r.dbeg,
        r.dend,
        tuple((r.mo_codes or "").split()),
    )


def _info(r: Any) -> SnapshotInfo:
    return SnapshotInfo(
        r.id, r.day, r.state, r.persons, r.checksum, dict(r.counts or {}), r.published_at, r.built_at
    )
