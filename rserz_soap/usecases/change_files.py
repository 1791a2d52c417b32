"""The daily package of every СМО (REPLIST, STOPLIST, RECLIST of a day in one ZIP), from the same use cases
that answer ``getProtocol``, ``getStopList`` and ``getCorrections`` — a file says what the services say.

Each package is written with a manifest (counts per file, encoding, sha256) into the export folder; the
bytes depend only on the day's data, so writing a day again (the job re-run, an operator) gives the same
package. A day with nothing for an СМО still gives it a package with empty lists: "nothing happened" is an
answer too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from rserz_soap.db.participants import Participant
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.buffer import BatchProtocol, Submitter
from rserz_soap.files import change_files, output
from rserz_soap.usecases import notices, participants, submit

PAGE = 1000

T = TypeVar("T")


class UnknownSmo(LookupError):
    """No active СМО with that code is registered."""


@dataclass(frozen=True)
class Package:
    smo: str
    path: Path
    manifest: Path
    size: int
    sha256: str
    counts: dict[str, int]
    encoding: str


def _all_pages(fetch: Callable[[int], notices.NoticePage[T]]) -> Iterator[T]:
    page = 1
    while True:
        found = fetch(page)
        yield from found.lines
        if not found.lines or page * PAGE >= found.total:
            return
        page += 1


def smos(read: Callable[[], UnitOfWork], only: str | None = None) -> list[Participant]:
    """The active СМО to write packages for (one, when ``only`` names it)."""
    found = [p for p in participants.all_participants(read()) if p.kind == "smo" and p.active]
    if only is not None:
        found = [p for p in found if p.code == only]
        if not found:
            raise UnknownSmo(f"no active СМО {only} is registered")
    return found


def protocols_of(read: Callable[[], UnitOfWork], smo: Participant, day: date) -> list[BatchProtocol]:
    with read() as uow:
        batch_ids = uow.buffer.batch_ids_on(smo.id, day, day)
    who = Submitter(smo.id, "smo", smo.code)
    found = (submit.protocol(read(), who, batch_id=b) for b in batch_ids)
    return [p for p in found if p is not None]


def package_files(
    read: Callable[[], UnitOfWork], smo: Participant, day: date, *, okato: str
) -> tuple[dict[str, bytes], dict[str, int]]:
    """The package's files (name → bytes) and their record counts."""
    stops = [
        change_files.StopItem(
            line.stop.id,
            line.stop.reason,
            line.stop.stop_date,
            line.stop.enp,
            line.stop.created_at,
            line.card,
            smo.code,
        )
        for line in _all_pages(lambda n: notices.stop_list(read(), smo.code, day, day, page=n, size=PAGE))
    ]
    corrections = [
        change_files.CorrectionItem(
            line.correction.id,
            line.correction.tip_op,
            line.correction.is_active,
            line.correction.err_code,
            line.correction.err_desc,
            line.correction.created_at,
            line.card,
        )
        for line in _all_pages(lambda n: notices.corrections(read(), smo.code, day, day, page=n, size=PAGE))
    ]
    protocols = protocols_of(read, smo, day)
    names = {k: change_files.base_name(k, okato, smo.code, day) for k in change_files.KINDS}
    trees = {
        "REPLIST": change_files.replist(names["REPLIST"], smo.code, protocols),
        "STOPLIST": change_files.stoplist(names["STOPLIST"], smo.code, stops),
        "RECLIST": change_files.reclist(names["RECLIST"], smo.code, day, corrections),
    }
    files = {
        f"{names[k]}.xml": change_files.xml_bytes(trees[k], smo.file_encoding) for k in change_files.KINDS
    }
    counts = {
        "REPLIST": sum(len(p.lines) for p in protocols),
        "STOPLIST": len(stops),
        "RECLIST": len(corrections),
    }
    return files, counts


def export_day(
    read: Callable[[], UnitOfWork],
    day: date,
    out_dir: Path,
    *,
    okato: str,
    smo: str | None = None,
    on_package: Callable[[Package], object] | None = None,
) -> list[Package]:
    """Write the packages of ``day`` for every active СМО (or one) into ``out_dir/<YYYY-MM-DD>/``."""
    written: list[Package] = []
    for who in smos(read, smo):
        files, counts = package_files(read, who, day, okato=okato)
        path = out_dir / day.isoformat() / change_files.package_name(okato, who.code, day)
        done = output.write_atomically(path, [change_files.package(files, day)])
        manifest = output.write_manifest(
            path,
            {
                "kind": "smo-daily",
                "file": path.name,
                "bytes": done.size,
                "sha256": done.sha256,
                "day": day.isoformat(),
                "smo": who.code,
                "encoding": who.file_encoding,
                "files": sorted(files),
                "records": counts,
            },
        )
        package = Package(who.code, path, manifest, done.size, done.sha256, counts, who.file_encoding)
        written.append(package)
        if on_package is not None:
            on_package(package)
    return written
