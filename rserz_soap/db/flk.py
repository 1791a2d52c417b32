"""The ФЛК error directory in the ``flk_error`` table: load a directory file into it, read it back.

The table is where operators change the wording or severity of an error in production, and the bundled
file is loaded into it at every start — so loading must not undo an operator's decision. A row's
``updated_at`` is therefore "when this wording was decided": rows from a file carry the file's header
date, an operator's edit carries the time of the edit, and a load updates only rows older than the file.
The same file loaded again changes nothing; a newer file (a later header date) updates messages and
severities; an operator's edit made after the file's date survives; codes the file does not list are
kept (an operator may have added a code a later rule needs). ``force=True`` makes the file win anyway.

The caller owns the transaction: functions take a ``Connection`` and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import Connection, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from rserz_soap.db.tables import flk_error
from rserz_soap.domain.flk.directory import ErrorDirectory, ErrorEntry, Kind, Severity

__all__ = ["LoadResult", "load_directory", "read_directory", "set_entry"]

#: Columns a newer file overwrites (everything but the code).
_COLUMNS = ("message", "im_pol", "bas_el", "severity", "kind", "updated_at")


@dataclass(frozen=True)
class LoadResult:
    inserted: int  # codes new to the table
    updated: int  # rows the file was newer than
    kept: int  # rows left as they were (same or newer wording in the table)


def load_directory(conn: Connection, directory: ErrorDirectory, *, force: bool = False) -> LoadResult:
    """Upsert every entry of ``directory``; see the module docstring for which rows a load may change."""
    if len(directory) == 0:
        return LoadResult(0, 0, 0)
    decided = (
        datetime.combine(directory.issued, time.min, tzinfo=UTC) if directory.issued else datetime.now(UTC)
    )
    rows = [
        {
            "code": e.code,
            "message": e.message,
            "im_pol": e.field,
            "bas_el": e.parent,
            "severity": e.severity.value,
            "kind": e.kind.value,
            "updated_at": decided,
        }
        for e in directory
    ]
    insert = pg_insert(flk_error).values(rows)
    upsert = insert.on_conflict_do_update(
        index_elements=[flk_error.c.code],
        set_={name: insert.excluded[name] for name in _COLUMNS},
        where=None if force else flk_error.c.updated_at < insert.excluded.updated_at,
    ).returning(flk_error.c.code, literal_column("(xmax = 0)").label("inserted"))
    changed = conn.execute(upsert).all()
    inserted = sum(1 for row in changed if row.inserted)
    return LoadResult(inserted=inserted, updated=len(changed) - inserted, kept=len(rows) - len(changed))


def read_directory(conn: Connection) -> ErrorDirectory:
    """The directory as the table holds it now: what the checks of a running hub use."""
    t = flk_error
    rows = conn.execute(select(t.c.code, t.c.message, t.c.im_pol, t.c.bas_el, t.c.severity, t.c.kind)).all()
    return ErrorDirectory(
        ErrorEntry(
            code=row.code,
            message=row.message,
            field=row.im_pol,
            parent=row.bas_el,
            severity=Severity(row.severity),
            kind=Kind(row.kind),
        )
        for row in rows
    )


def set_entry(
    conn: Connection, code: str, *, severity: Severity | None = None, message: str | None = None
) -> bool:
    """An operator's edit of one code, stamped now so that reloading an older file keeps it.

    Returns False when the table has no such code.
    """
    values: dict[str, object] = {"updated_at": func.clock_timestamp()}
    if severity is not None:
        values["severity"] = severity.value
    if message is not None:
        values["message"] = message
    result = conn.execute(update(flk_error).where(flk_error.c.code == code).values(**values))
    return bool(result.rowcount)


class ErrorDirectories:
    """The ФЛК error directory as the database holds it (operators may have edited severities)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def read(self) -> ErrorDirectory:
        return read_directory(self._conn)
