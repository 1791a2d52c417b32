"""НСИ as imported: every version of every directory (nothing an import brings is ever lost), and updates.

An update (``update``) imports new directory versions and says what each changed against the directory's
previous version: codes added, changed and closed, each with the day it takes effect. Effect dates are
the records' own (DATEBEG/DATEEND): a version whose changes start tomorrow is stored today, and every
check made today still finds today's records (``db/nsi.py`` answers "valid on D" at read time). The same
file again changes nothing and reports itself as loaded before, so an update may run as often as wanted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from rserz_soap.db.nsi import VersionInfo
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.files.nsi import NsiFile, NsiRecord

__all__ = [
    "CodeChange",
    "DirectoryChange",
    "UpdateReport",
    "VersionInfo",
    "diff",
    "records_on",
    "update",
    "versions",
]


def versions(uow: UnitOfWork, directory: str | None = None) -> list[VersionInfo]:
    with uow:
        return uow.nsi.versions(directory)


def records_on(uow: UnitOfWork, directory: str, on: date) -> list[NsiRecord]:
    with uow:
        return uow.nsi.records_on(directory, on)


@dataclass(frozen=True)
class CodeChange:
    code: str
    effective: date  # the first day the change holds
    pending: bool  # it holds from a later day than the update's: today's checks do not see it yet


@dataclass(frozen=True)
class DirectoryChange:
    """One imported file against its directory's previous version."""

    directory: str
    version: str | None
    file_name: str
    already_loaded: bool = False
    added: tuple[CodeChange, ...] = ()
    changed: tuple[CodeChange, ...] = ()
    closed: tuple[CodeChange, ...] = ()
    omitted: tuple[str, ...] = ()  # in the previous version, not in this one: still served from the older

    def summary(self) -> str:
        head = f"{self.directory} {self.version or ''} ({self.file_name})".replace("  ", " ")
        if self.already_loaded:
            return f"{head}: loaded before, nothing changed"

        def codes(changes: tuple[CodeChange, ...]) -> str:
            shown = ", ".join(
                f"{c.code}{' from ' + c.effective.strftime('%d.%m.%Y') if c.pending else ''}"
                for c in changes[:10]
            )
            return shown + (f" … (+{len(changes) - 10})" if len(changes) > 10 else "")

        parts = [
            f"{label} {len(items)}" + (f" [{codes(items)}]" if items else "")
            for label, items in (("added", self.added), ("changed", self.changed), ("closed", self.closed))
        ]
        pending = sum(c.pending for c in (*self.added, *self.changed, *self.closed))
        tail = f"; {pending} take effect later" if pending else ""
        tail += f"; {len(self.omitted)} not listed (kept from earlier versions)" if self.omitted else ""
        return f"{head}: {', '.join(parts)}{tail}"


@dataclass(frozen=True)
class UpdateReport:
    today: date
    directories: tuple[DirectoryChange, ...] = field(default_factory=tuple)

    @property
    def imported(self) -> int:
        return sum(not d.already_loaded for d in self.directories)


def update(uow: UnitOfWork, files: Sequence[NsiFile], today: date) -> UpdateReport:
    """Import ``files`` in order, all or none, one update at a time; what each changed."""
    changes: list[DirectoryChange] = []
    with uow:
        uow.nsi.lock_imports()
        for nsi in files:
            before = uow.nsi.latest_records(nsi.directory)
            result = uow.nsi.import_file(nsi)
            if result.already_loaded:
                changes.append(
                    DirectoryChange(nsi.directory, nsi.version, nsi.file_name, already_loaded=True)
                )
            else:
                changes.append(diff(before, nsi, today))
    return UpdateReport(today, tuple(changes))


def diff(before: Sequence[NsiRecord], after: NsiFile, today: date) -> DirectoryChange:
    """``after`` against the previous version's records: per code added, changed, closed (or omitted)."""
    old, new = _by_code(before), _by_code(after.records)
    added, changed, closed = [], [], []
    for code, records in sorted(new.items(), key=lambda kv: _order(kv[0])):
        previous = old.get(code)
        if previous is None:
            added.append(_change(code, records[0].date_beg, today))
            continue
        if [_key(r) for r in previous] == [_key(r) for r in records]:
            continue
        last, was = records[-1], previous[-1]
        if last.date_end is not None and last.date_end != was.date_end and _key_open(last) == _key_open(was):
            closed.append(_change(code, last.date_end + timedelta(days=1), today))
            continue
        changed.append(_change(code, _effective(previous, records), today))
    omitted = tuple(sorted(set(old) - set(new), key=_order))
    return DirectoryChange(
        after.directory,
        after.version,
        after.file_name,
        False,
        tuple(added),
        tuple(changed),
        tuple(closed),
        omitted,
    )


def _effective(previous: Sequence[NsiRecord], records: Sequence[NsiRecord]) -> date:
    """The first day the new records say something else: a new record from its start, a record that only
    got an end from the day after it."""
    known, opened = {_key(r) for r in previous}, {_key_open(r) for r in previous}
    days = [
        (r.date_end + timedelta(days=1) if r.date_end else r.date_beg)
        if _key_open(r) in opened
        else r.date_beg
        for r in records
        if _key(r) not in known
    ]
    return min(days) if days else records[-1].date_beg


def _by_code(records: Sequence[NsiRecord]) -> dict[str, list[NsiRecord]]:
    grouped: dict[str, list[NsiRecord]] = defaultdict(list)
    for r in records:
        grouped[r.code].append(r)
    return {code: sorted(rs, key=lambda r: r.date_beg) for code, rs in grouped.items()}


def _key(r: NsiRecord) -> tuple[date, date | None, tuple[tuple[str, str], ...]]:
    return (r.date_beg, r.date_end, tuple(sorted(r.data.items())))


def _key_open(r: NsiRecord) -> tuple[date, tuple[tuple[str, str], ...]]:
    """A record without its end: a closed record equal to an open one on this key was closed, not edited."""
    return (r.date_beg, tuple(sorted(r.data.items())))


def _change(code: str, effective: date, today: date) -> CodeChange:
    return CodeChange(code, effective, effective > today)


def _order(code: str) -> tuple[bool, int, str]:
    return (not code.isdigit(), int(code) if code.isdigit() else 0, code)
