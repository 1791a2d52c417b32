"""Bulk loading into PostgreSQL: COPY, and "drop the secondary indexes, load, build them again".

Why: a million persons are about ten million rows. Row-by-row INSERTs, or COPY into tables that maintain
a dozen indexes (one of them a trigram GIN) and check every foreign key with a per-row trigger, take many
minutes; COPY into bare tables followed by one sorted build per index takes a fraction of that. The
helpers here are generic (any table, any index): the definitions are read back from the catalog
(``pg_indexes.indexdef``, ``pg_get_constraintdef``) and replayed verbatim, so what is rebuilt is exactly
what the migrations created — a new index added to the schema tomorrow is handled without touching this
module.

Everything runs on the caller's connection and inside the caller's transaction: PostgreSQL DDL is
transactional, so if the load fails and the transaction rolls back, the dropped indexes and constraints
come back by themselves and no other session ever sees the tables without them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Connection

__all__ = [
    "ConstraintDef",
    "IndexDef",
    "RebuildReport",
    "copy_rows",
    "copy_statement",
    "copy_text",
    "drop_foreign_keys",
    "drop_secondary_indexes",
    "escape_copy_text",
    "format_copy_row",
    "indexes_dropped",
    "raw_connection",
    "recreate_foreign_keys",
    "recreate_indexes",
    "reset_sequences",
    "truncate_for_freeze",
]

#: psycopg sends COPY data in pieces of about this size; bigger writes are split, smaller ones buffered.
COPY_BLOCK_BYTES = 1 << 20

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True)
class IndexDef:
    """A secondary index as the catalog describes it; ``ddl`` recreates it exactly."""

    table: str
    name: str
    ddl: str


@dataclass(frozen=True)
class ConstraintDef:
    """A foreign key as the catalog describes it; ``ddl`` is its ``pg_get_constraintdef`` text."""

    table: str
    name: str
    ddl: str


@dataclass
class RebuildReport:
    """Seconds spent per rebuilt object, so a slow load can be explained."""

    seconds: dict[str, float] = field(default_factory=dict)


def raw_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a SQLAlchemy connection (same session, same transaction)."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError(f"bulk loading needs the psycopg 3 driver, got {type(driver).__name__}")
    return driver


# --------------------------------------------------------------------------- COPY


def escape_copy_text(value: str) -> str:
    """Escape a value for COPY's text format (backslash, tab, newline, carriage return)."""
    return value.translate(_ESCAPES)


def _format_value(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, (list, tuple)):  # an integer array (disclosure.person_ids)
        if not all(type(item) is int for item in value):
            raise TypeError("COPY text arrays are written for integers only")
        return "{" + ",".join(map(str, value)) + "}"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return escape_copy_text(str(value))


def format_copy_row(values: Sequence[object]) -> str:
    """One line of COPY text format (with its newline): NULL as ``\\N``, booleans as t/f, dates ISO."""
    return "\t".join(map(_format_value, values)) + "\n"


def copy_statement(table: str, columns: Sequence[str], *, freeze: bool = False) -> sql.Composed:
    """``COPY table (columns) FROM STDIN``; ``freeze`` only for a table truncated in this transaction."""
    return sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL(" WITH (FREEZE)" if freeze else ""),
    )


def _catalog_ddl(text: str) -> sql.SQL:
    """DDL text that PostgreSQL itself produced (pg_indexes, pg_get_constraintdef), replayed verbatim."""
    return sql.SQL(text)  # not a literal string, but never user input: the catalog wrote it


def copy_text(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    blocks: Iterable[bytes | str],
    *,
    freeze: bool = False,
) -> None:
    """COPY pre-formatted text-format data (already escaped, one row per line) into ``table``.

    The fastest path: the caller builds large blocks itself (see ``demo/load.py``) and this sends them.
    """
    cur = raw_connection(conn).cursor()
    with cur.copy(copy_statement(table, columns, freeze=freeze)) as copy:
        for block in blocks:
            copy.write(block)


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """COPY Python values into ``table``; returns the number of rows. Values are escaped here."""
    count = 0
    buf: list[str] = []
    size = 0

    def blocks() -> Iterator[str]:
        nonlocal count, size
        for row in rows:
            line = format_copy_row(row)
            buf.append(line)
            size += len(line)
            count += 1
            if size >= COPY_BLOCK_BYTES:
                yield "".join(buf)
                buf.clear()
                size = 0
        if buf:
            yield "".join(buf)

    copy_text(conn, table, columns, blocks())
    return count


# --------------------------------------------------------------------------- indexes and foreign keys

_SECONDARY_INDEXES_SQL = """
SELECT i.tablename, i.indexname, i.indexdef
FROM pg_indexes i
JOIN pg_class c ON c.relname = i.indexname
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname
WHERE i.schemaname = current_schema()
  AND i.tablename = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
ORDER BY i.tablename, i.indexname
"""

_FOREIGN_KEYS_SQL = """
SELECT t.relname, k.conname, pg_get_constraintdef(k.oid)
FROM pg_constraint k
JOIN pg_class t ON t.oid = k.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = current_schema() AND k.contype = 'f' AND t.relname = ANY(%s)
ORDER BY t.relname, k.conname
"""


def secondary_indexes(conn: Connection, tables: Sequence[str]) -> list[IndexDef]:
    """Indexes of ``tables`` that back no constraint (primary keys and unique constraints stay)."""
    cur = raw_connection(conn).cursor()
    cur.execute(_SECONDARY_INDEXES_SQL, (list(tables),))
    return [IndexDef(t, n, ddl) for t, n, ddl in cur.fetchall()]


def drop_secondary_indexes(conn: Connection, tables: Sequence[str]) -> list[IndexDef]:
    """Drop the secondary indexes of ``tables``; returns their definitions for :func:`recreate_indexes`."""
    found = secondary_indexes(conn, tables)
    cur = raw_connection(conn).cursor()
    for ix in found:
        cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(ix.name)))
    return found


def recreate_indexes(conn: Connection, indexes: Iterable[IndexDef]) -> RebuildReport:
    """Replay the saved ``CREATE INDEX`` statements (the catalog's own text, so nothing drifts)."""
    report = RebuildReport()
    cur = raw_connection(conn).cursor()
    for ix in indexes:
        t0 = time.perf_counter()
        cur.execute(_catalog_ddl(ix.ddl))
        report.seconds[ix.name] = time.perf_counter() - t0
    return report


def drop_foreign_keys(conn: Connection, tables: Sequence[str]) -> list[ConstraintDef]:
    """Drop the foreign keys *of* ``tables`` (per-row RI triggers are the slowest part of a COPY)."""
    cur = raw_connection(conn).cursor()
    cur.execute(_FOREIGN_KEYS_SQL, (list(tables),))
    found = [ConstraintDef(t, n, ddl) for t, n, ddl in cur.fetchall()]
    for fk in found:
        cur.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(fk.table), sql.Identifier(fk.name)
            )
        )
    return found


def recreate_foreign_keys(conn: Connection, constraints: Iterable[ConstraintDef]) -> RebuildReport:
    """Add the foreign keys back; PostgreSQL validates each with one join instead of a trigger per row."""
    report = RebuildReport()
    cur = raw_connection(conn).cursor()
    for fk in constraints:
        t0 = time.perf_counter()
        cur.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(fk.table), sql.Identifier(fk.name), _catalog_ddl(fk.ddl)
            )
        )
        report.seconds[fk.name] = time.perf_counter() - t0
    return report


class indexes_dropped:  # noqa: N801 — used as a context manager, reads like one
    """``with indexes_dropped(conn, tables, foreign_keys=True) as state: <COPY …>``.

    On a clean exit the indexes (and foreign keys) are rebuilt in the same transaction; on an exception
    nothing is rebuilt, because the failed transaction must be rolled back and that restores them.
    ``state.report`` then holds the seconds spent per index and constraint.
    """

    def __init__(self, conn: Connection, tables: Sequence[str], *, foreign_keys: bool = True) -> None:
        self.conn = conn
        self.tables = list(tables)
        self.foreign_keys = foreign_keys
        self.indexes: list[IndexDef] = []
        self.constraints: list[ConstraintDef] = []
        self.report = RebuildReport()

    def __enter__(self) -> indexes_dropped:
        self.constraints = drop_foreign_keys(self.conn, self.tables) if self.foreign_keys else []
        self.indexes = drop_secondary_indexes(self.conn, self.tables)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            return
        self.report.seconds.update(recreate_indexes(self.conn, self.indexes).seconds)
        self.report.seconds.update(recreate_foreign_keys(self.conn, self.constraints).seconds)


# --------------------------------------------------------------------------- COPY FREEZE

_REFERENCES_SQL = """
SELECT DISTINCT t.relname, r.relname
FROM pg_constraint k
JOIN pg_class r ON r.oid = k.confrelid
JOIN pg_class t ON t.oid = k.conrelid
JOIN pg_namespace n ON n.oid = r.relnamespace
WHERE k.contype = 'f' AND n.nspname = current_schema() AND r.relname = ANY(%s)
"""


def truncate_for_freeze(conn: Connection, tables: Sequence[str]) -> list[str]:
    """TRUNCATE those of ``tables`` that are empty and that no table outside the set refers to.

    Why: ``COPY … WITH (FREEZE)`` is allowed only into a table created or truncated in the same
    transaction, and it writes rows already frozen and marks their pages all-visible. Without it, the
    first reader of every freshly loaded page — the index builds, the foreign-key checks, ANALYZE — sets
    hint bits on it, and with data checksums on each of those first touches writes the whole page to the
    WAL again. Truncating an empty table loses nothing; a table still referenced from outside the set
    (``person`` by the buffer, merges, pins …) cannot be truncated and is skipped. Returns the truncated
    tables: COPY into exactly those may use ``freeze=True``.
    """
    cur = raw_connection(conn).cursor()
    cur.execute(_REFERENCES_SQL, (list(tables),))
    references = [(referencing, referenced) for referencing, referenced in cur.fetchall()]
    chosen: list[str] = []
    for table in tables:
        cur.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table)))
        row = cur.fetchone()
        if row is not None and not row[0]:
            chosen.append(table)
    # A table referenced by one that is not truncated with it cannot be truncated: drop it until stable.
    while True:
        blocked = {dst for src, dst in references if dst in chosen and src not in chosen}
        if not blocked:
            break
        chosen = [t for t in chosen if t not in blocked]
    if chosen:
        cur.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier(t) for t in chosen)))
    return chosen


# --------------------------------------------------------------------------- sequences

_SEQUENCES_SQL = """
SELECT c.relname, a.attname, pg_get_serial_sequence(quote_ident(c.relname), a.attname)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = current_schema() AND c.relname = ANY(%s)
  AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL
ORDER BY c.relname, a.attname
"""


def reset_sequences(conn: Connection, tables: Sequence[str]) -> dict[str, int]:
    """Move every serial/identity sequence of ``tables`` to ``max(column)`` (or back to 1 if empty).

    Needed after rows were loaded with explicit ids: otherwise the next ordinary INSERT would draw an id
    that is already taken. Returns ``{"table.column": last value}``.
    """
    cur = raw_connection(conn).cursor()
    cur.execute(_SEQUENCES_SQL, (list(tables),))
    result: dict[str, int] = {}
    for table, column, sequence in cur.fetchall():
        cur.execute(
            sql.SQL("SELECT setval(%s, coalesce(max({c}), 1), max({c}) IS NOT NULL) FROM {t}").format(
                c=sql.Identifier(column), t=sql.Identifier(table)
            ),
            (sequence,),
        )
        row = cur.fetchone()
        result[f"{table}.{column}"] = int(row[0]) if row else 1
    return result
