"""НСИ repository: every imported directory file is kept as a version, and lookups are by date.

Checks must use the directory entry valid on the event date (a СМО code valid in 2023 may be closed now),
and a new file from ФФОМС must never erase what an older file said about the past — so an import only adds
(``nsi_version`` + its ``nsi_record`` rows) and the question "which entry is valid on D" is answered at read
time. The caller owns the transaction: every function takes a ``Connection`` and never commits.

Precedence on a date D, per code: the latest import (``imported_at``, then ``id``) that has a record of the
code starting on or before D decides — its record valid on D is the answer, or there is none if that
import has the code closed on D. So, with v1 saying "45001 = A from 2010" and v2 saying "45001 = B from
2025" (with or without A's closed record):

* on 2023-06-01 v2 has nothing that started yet → v1 decides → A;
* on 2025-06-01 both have a record valid → the later import wins → B;
* if v2 closes 45004 on 2024-06-30 without a successor, 45004 is gone from 2024-07-01 even though v1 had
  it open-ended — a closing date in a newer file is news, not a gap to fill from older files;
* a code that a newer file omits altogether keeps being served from the older file that has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, func, insert, or_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert

from rserz_soap.db.tables import nsi_record, nsi_version
from rserz_soap.files.nsi import NsiFile, NsiRecord


@dataclass(frozen=True)
class ImportResult:
    directory: str
    version_id: int
    records: int
    already_loaded: bool


@dataclass(frozen=True)
class VersionInfo:
    id: int
    directory: str
    version: str | None
    file_name: str
    sha256: str
    records: int
    imported_at: datetime


def import_file(conn: Connection, nsi: NsiFile) -> ImportResult:
    """Store a parsed file as a new version; the same bytes again (same sha256) change nothing."""
    foreign = {r.directory for r in nsi.records} - {nsi.directory}
    if foreign:
        raise ValueError(f"{nsi.file_name}: records of {sorted(foreign)} in a {nsi.directory} file")
    new_id = conn.execute(
        pg_insert(nsi_version)
        .values(
            directory=nsi.directory,
            version=nsi.version,
            file_name=nsi.file_name,
            sha256=nsi.sha256,
            records=len(nsi.records),
            # clock_timestamp, not now(): two imports in one transaction must still be ordered.
            imported_at=func.clock_timestamp(),
        )
        .on_conflict_do_nothing(index_elements=[nsi_version.c.directory, nsi_version.c.sha256])
        .returning(nsi_version.c.id)
    ).scalar_one_or_none()
    if new_id is None:
        existing = conn.execute(
            select(nsi_version.c.id, nsi_version.c.records).where(
                nsi_version.c.directory == nsi.directory, nsi_version.c.sha256 == nsi.sha256
            )
        ).one()
        return ImportResult(nsi.directory, existing.id, existing.records, already_loaded=True)
    if nsi.records:
        conn.execute(
            insert(nsi_record),
            [
                {
                    "version_id": new_id,
                    "directory": r.directory,
                    "code": r.code,
                    "date_beg": r.date_beg,
                    "date_end": r.date_end,
                    "data": r.data,
                }
                for r in nsi.records
            ],
        )
    return ImportResult(nsi.directory, int(new_id), len(nsi.records), already_loaded=False)


_UPDATE_LOCK = 0x4E534955  # "NSIU"


def latest_records(conn: Connection, directory: str) -> list[NsiRecord]:
    """The records of the directory's latest import (``imported_at``, then ``id``), by code and start."""
    r, v = nsi_record, nsi_version
    latest = (
        select(v.c.id)
        .where(v.c.directory == directory)
        .order_by(v.c.imported_at.desc(), v.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(r.c.directory, r.c.code, r.c.date_beg, r.c.date_end, r.c.data)
        .where(r.c.version_id == latest)
        .order_by(r.c.code, r.c.date_beg)
    )
    return [_to_record(row) for row in rows]


def record_on(conn: Connection, directory: str, code: str, on: date) -> NsiRecord | None:
    """The entry ``code`` of ``directory`` valid on ``on``, or None when there is none on that date."""
    row = conn.execute(_valid_on_query(directory, on, code)).first()
    return _to_record(row) if row is not None else None


def records_on(conn: Connection, directory: str, on: date) -> list[NsiRecord]:
    """Every entry of ``directory`` valid on ``on`` (one per code), numeric codes in numeric order."""
    records = [_to_record(row) for row in conn.execute(_valid_on_query(directory, on))]
    return sorted(records, key=_code_order)


def records_of(conn: Connection, directory: str) -> list[NsiRecord]:
    """Every record of ``directory`` ever imported, oldest import first (then by start): for indexes that
    take the latest word on a code whatever the date, such as O001's alpha-3 → numeric codes."""
    r, v = nsi_record, nsi_version
    rows = conn.execute(
        select(r.c.directory, r.c.code, r.c.date_beg, r.c.date_end, r.c.data)
        .join(v, v.c.id == r.c.version_id)
        .where(r.c.directory == directory)
        .order_by(v.c.imported_at, v.c.id, r.c.date_beg, r.c.id)
    )
    return [_to_record(row) for row in rows]


def versions(conn: Connection, directory: str | None = None) -> list[VersionInfo]:
    """Imported files, oldest first (per directory) — what the console shows as the НСИ history."""
    v = nsi_version
    query = select(
        v.c.id, v.c.directory, v.c.version, v.c.file_name, v.c.sha256, v.c.records, v.c.imported_at
    )
    if directory is not None:
        query = query.where(v.c.directory == directory)
    query = query.order_by(v.c.directory, v.c.imported_at, v.c.id)
    return [
        VersionInfo(
            id=row.id,
            directory=row.directory,
            version=row.version,
            file_name=row.file_name,
            sha256=row.sha256,
            records=row.records,
            imported_at=row.imported_at,
        )
        for row in conn.execute(query)
    ]


def _valid_on_query(directory: str, on: date, code: str | None = None) -> Select[Any]:
    """Per code, the deciding import's best record (module docstring), kept only if valid on ``on``."""
    r, v = nsi_record, nsi_version
    valid = and_(r.c.date_beg <= on, or_(r.c.date_end.is_(None), r.c.date_end >= on))
    decided = (
        select(r.c.directory, r.c.code, r.c.date_beg, r.c.date_end, r.c.data, valid.label("valid"))
        .join(v, v.c.id == r.c.version_id)
        .where(r.c.directory == directory, r.c.date_beg <= on)
        .ext(distinct_on(r.c.code))
        .order_by(r.c.code, v.c.imported_at.desc(), v.c.id.desc(), valid.desc(), r.c.date_beg.desc())
    )
    if code is not None:
        decided = decided.where(r.c.code == code)
    sub = decided.subquery("decided")
    return (
        select(sub.c.directory, sub.c.code, sub.c.date_beg, sub.c.date_end, sub.c.data)
        .where(sub.c.valid)
        .order_by(sub.c.code)
    )


def _code_order(record: NsiRecord) -> tuple[bool, int, str]:
    digits = record.code.isdigit()
    return (not digits, int(record.code) if digits else 0, record.code)


def _to_record(row: Any) -> NsiRecord:
    return NsiRecord(
        directory=row.directory,
        code=row.code,
        date_beg=row.date_beg,
        date_end=row.date_end,
        data={str(k): str(v) for k, v in row.data.items()},
    )


class DirectoryHistory:
    """Every imported record of one directory, held in memory, answering "valid on D" without a query.

    ФЛК asks about documents, СМО and МО on thousands of different dates per batch; a query each would
    dominate the cost of a record. The rule is the one of :func:`record_on` (a test keeps them equal):
    among a code's records that began on or before D, the newest import decides, and within it a record
    valid on D wins over one that ended, then the latest start; the answer is that record if valid on D.
    """

    def __init__(self, conn: Connection, directory: str) -> None:
        r, v = nsi_record, nsi_version
        rows = conn.execute(
            select(r.c.directory, r.c.code, r.c.date_beg, r.c.date_end, r.c.data, r.c.version_id)
            .join(v, v.c.id == r.c.version_id)
            .where(r.c.directory == directory)
            .order_by(r.c.code, v.c.imported_at.desc(), v.c.id.desc(), r.c.date_beg.desc())
        )
        self.directory = directory
        self._by_code: dict[str, list[tuple[int, NsiRecord]]] = {}
        for row in rows:  # per code: newest import first, latest start first
            self._by_code.setdefault(row.code, []).append((row.version_id, _to_record(row)))

    def on(self, code: str, day: date) -> NsiRecord | None:
        started = [(version, rec) for version, rec in self._by_code.get(code, ()) if rec.date_beg <= day]
        if not started:
            return None
        deciding_version = started[0][0]
        candidates = [rec for version, rec in started if version == deciding_version]
        valid = [rec for rec in candidates if _valid(rec, day)]
        return valid[0] if valid else None


def _valid(rec: NsiRecord, day: date) -> bool:
    return rec.date_beg <= day and (rec.date_end is None or rec.date_end >= day)


class Nsi:
    """НСИ inside one unit of work: the record of a directory valid on a date."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record_on(self, directory: str, code: str, on: date) -> NsiRecord | None:
        return record_on(self._conn, directory, code, on)

    def records_on(self, directory: str, on: date) -> list[NsiRecord]:
        return records_on(self._conn, directory, on)

    def versions(self, directory: str | None = None) -> list[VersionInfo]:
        """Every imported version (of one directory or of all)."""
        return versions(self._conn, directory)

    def import_file(self, nsi: NsiFile) -> ImportResult:
        return import_file(self._conn, nsi)

    def latest_records(self, directory: str) -> list[NsiRecord]:
        """The records of the directory's latest imported version (none if it was never imported)."""
        return latest_records(self._conn, directory)

    def lock_imports(self) -> None:
        """One НСИ update at a time (held until the transaction ends): each compares with the one before."""
        self._conn.execute(select(func.pg_advisory_xact_lock(_UPDATE_LOCK)))
