"""Snapshots (срезы): who was insured on a date, published once, served as published (domain.md §10).

A published snapshot is immutable and reproducible: it is built from the register as known at the moment
of publication, stored row by row with a checksum, and :func:`reproduces` rebuilds it from history to
prove that nothing it was built from has been rewritten. ``getSnapshot`` serves only published snapshots;
a date with none is answered as such (the contract's ``ERR_CODE`` 1), never computed on the fly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rserz_soap.db.snapshots import SnapshotInfo
from rserz_soap.db.uow import Database, UnitOfWork
from rserz_soap.domain.buffer import Submitter
from rserz_soap.domain.snapshot import ExportRow, InsuredRow
from rserz_soap.files import output, snapshot_export

__all__ = [
    "Exported",
    "InsuredRow",
    "SnapshotInfo",
    "SnapshotPage",
    "export",
    "export_all",
    "export_chunks",
    "insured_on",
    "page",
    "publish",
    "published",
    "reproduces",
]


def insured_on(
    uow: UnitOfWork,
    day: date,
    *,
    smo: str | None = None,
    mo: str | None = None,
    page: int = 1,
    page_size: int = 100,
) -> tuple[int, list[InsuredRow]]:
    """Persons insured on ``day`` as the register knows it now (not a published snapshot)."""
    with uow:
        return uow.snapshots.insured_on(day, smo=smo, mo=mo, page=page, page_size=page_size)


def publish(uow: UnitOfWork, day: date, *, actor: str) -> SnapshotInfo:
    """Publish the snapshot of ``day`` (state at 00:00); one already published is returned unchanged."""
    with uow:
        uow.snapshots.lock_day(day)
        existing = uow.snapshots.get(day)
        if existing is not None and existing.state == "published":
            return existing
        return uow.snapshots.build(day, actor)


def reproduces(uow: UnitOfWork, day: date) -> bool:
    """Does rebuilding the published snapshot of ``day`` from history give its rows again (its checksum)?"""
    with uow:
        info = uow.snapshots.get(day)
        if info is None or info.published_at is None:
            raise LookupError(f"no snapshot of {day} is published")
        persons, checksum = uow.snapshots.checksum_as_known(day, info.published_at)
    return (persons, checksum) == (info.persons, info.checksum)


def published(uow: UnitOfWork, first: date | None = None, last: date | None = None) -> list[SnapshotInfo]:
    """Published snapshots, newest first."""
    with uow:
        return uow.snapshots.published(first, last)


@dataclass(frozen=True)
class SnapshotPage:
    snapshot: SnapshotInfo
    total: int  # rows visible to the caller
    rows: list[InsuredRow]


def visible(info: SnapshotInfo, viewer: Submitter) -> int:
    """How many rows of a snapshot ``viewer`` sees: an СМО its insured, an МО its attached, others all."""
    if viewer.kind in ("smo", "mo"):
        return int(info.counts.get(viewer.kind, {}).get(viewer.code, 0))
    return info.persons


def page(uow: UnitOfWork, day: date, viewer: Submitter, *, page: int, page_size: int) -> SnapshotPage | None:
    """A page of the published snapshot of ``day`` as ``viewer`` may see it; None if none is published."""
    with uow:
        info = uow.snapshots.get(day)
        if info is None or info.state != "published":
            return None
        total, rows = uow.snapshots.page(
            info.id,
            smo=viewer.code if viewer.kind == "smo" else None,
            mo=viewer.code if viewer.kind == "mo" else None,
            page=page,
            page_size=page_size,
        )
    return SnapshotPage(info, total, rows)


#: rows between two progress reports of an export
EXPORT_PAGE = 10_000


def published_one(uow: UnitOfWork, day: date) -> SnapshotInfo:
    """The published snapshot of ``day``; LookupError when none is."""
    with uow:
        info = uow.snapshots.get(day)
    if info is None or info.state != "published":
        raise LookupError(f"no snapshot of {day} is published")
    return info


def _stream(
    uow: UnitOfWork, info: SnapshotInfo, on_rows: Callable[[int], object] | None
) -> Iterator[ExportRow]:
    with uow:
        n = 0
        for row in uow.snapshots.stream(info.id):
            yield row
            n += 1
            if on_rows is not None and n == EXPORT_PAGE:
                on_rows(n)
                n = 0
        if on_rows is not None and n:
            on_rows(n)


def export_chunks(
    uow: UnitOfWork,
    info: SnapshotInfo,
    fmt: str,
    *,
    okato: str,
    on_rows: Callable[[int], object] | None = None,
) -> Iterator[bytes]:
    """The bytes of a published snapshot's export, streamed (the console's download and :func:`export`).

    ``uow`` must be a transaction (``Database.unit_of_work``): the rows come through ``COPY … TO STDOUT``."""
    header = snapshot_export.SnapshotHeader(info.day, info.persons, info.checksum or "", okato)
    return snapshot_export.chunks(fmt, header, _stream(uow, info, on_rows))


@dataclass(frozen=True)
class Exported:
    path: Path
    manifest: Path
    size: int
    sha256: str
    persons: int
    written: bool  # False: an intact export of the same snapshot was already there


def export(
    db: Database,
    day: date,
    fmt: str,
    out_dir: Path,
    *,
    okato: str,
    on_rows: Callable[[int], object] | None = None,
    force: bool = False,
) -> Exported:
    """Write one export of the published snapshot of ``day`` to ``out_dir`` with its manifest."""
    return export_all(db, day, (fmt,), out_dir, okato=okato, on_rows=on_rows, force=force)[0]


def export_all(
    db: Database,
    day: date,
    formats: Sequence[str],
    out_dir: Path,
    *,
    okato: str,
    on_rows: Callable[[int], object] | None = None,
    force: bool = False,
) -> list[Exported]:
    """Write the exports of the published snapshot of ``day`` in ``formats`` (one pass over its rows) to
    ``out_dir``, each with its manifest.

    An intact export of the same snapshot already there is kept (a re-run job rewrites nothing); a rebuilt
    one is byte-identical anyway."""
    info = published_one(db.reading(), day)
    paths = {fmt: out_dir / snapshot_export.file_name(okato, day, fmt) for fmt in formats}
    kept: dict[str, Exported] = {}
    for fmt, path in paths.items():
        manifest = output.read_manifest(path)
        if (
            not force
            and manifest is not None
            and manifest.get("snapshot_sha256") == info.checksum
            and output.is_intact(path, manifest)
        ):
            size, digest = path.stat().st_size, str(manifest["sha256"])
            kept[fmt] = Exported(path, output.manifest_path(path), size, digest, info.persons, False)
    todo = {fmt: path for fmt, path in paths.items() if fmt not in kept}
    written: dict[str, Exported] = {}
    if todo:
        header = snapshot_export.SnapshotHeader(info.day, info.persons, info.checksum or "", okato)
        rows = _stream(db.unit_of_work(), info, on_rows)
        for fmt, done in output.write_many(todo, snapshot_export.parts(list(todo), header, rows)).items():
            facts = {
                "kind": "snapshot",
                "format": fmt,
                "file": done.path.name,
                "bytes": done.size,
                "sha256": done.sha256,
                "day": info.day.isoformat(),
                "persons": info.persons,
                "snapshot_sha256": info.checksum,
                "published_at": info.published_at.isoformat() if info.published_at else None,
                "counts": info.counts,
            }
            manifest_path = output.write_manifest(done.path, facts)
            written[fmt] = Exported(done.path, manifest_path, done.size, done.sha256, info.persons, True)
    return [kept.get(fmt) or written[fmt] for fmt in formats]
