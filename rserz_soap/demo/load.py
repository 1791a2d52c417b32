"""Loading the synthetic region into PostgreSQL: reference from НСИ, parallel generation, COPY.

Why it is built this way (measured on the 2-core development machine, see docs/benchmarks.md):

* Generation is pure Python and CPU-bound, COPY parsing and index builds are PostgreSQL's CPU. Worker
  processes generate batches of persons *and* render them as COPY text (rendering in the worker keeps
  the parent free to do nothing but stream bytes into the server), while the parent writes each batch
  into the tables on one connection. Everything happens in **one transaction**: a failed or interrupted
  seed leaves the register exactly as it was.
* On an empty register the secondary indexes and the foreign keys of the person tables are dropped
  first and rebuilt after the load (db/bulk.py), which turns ~30 index insertions and ~15 foreign-key
  trigger checks per person into one sorted build per index and one join per constraint. The foreign
  keys are validated when they are added back, so a generator bug cannot slip inconsistent rows in.
  On a non-empty register the load goes through the live indexes (slower, but other sessions keep
  working with the indexes they expect).
* Every person gets one ``SEED`` version (source ``tfoms``/``seed``, valid from the person's earliest
  fact), its main ЕНП in ``enp_alias`` and one ``change_journal`` row, like any other registration, so
  the changes feed, identification and snapshots see seeded persons exactly as they see real ones.
  Person and version ids are explicit (continuing after ``max(id)``) because the aspect rows refer to
  them; the other ids come from the sequences during COPY.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, text

from rserz_soap.config import Settings
from rserz_soap.db import bulk
from rserz_soap.demo.parallel import in_order
from rserz_soap.demo.region import (
    ENP_GROUP,
    MAX_PERSONS,
    Generator,
    RegionReference,
    SyntheticPerson,
    region_reference,
)

__all__ = [
    "PERSON_TABLES",
    "SeedResult",
    "load_batches",
    "region_reference_from_files",
    "region_reference_from_nsi",
    "render_batch",
    "seed_region",
]

#: The tables a seed writes, in the order a batch is copied (parents before children).
PERSON_TABLES: Final = (
    "person",
    "person_version",
    "person_data",
    "identity_document",
    "address",
    "insurance_period",
    "attachment",
    "enp_alias",
    "change_journal",
)

# fmt: off
#: COPY column lists; ids not listed come from the tables' sequences, ``name_key`` is generated.
COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "person": ("id", "main_enp", "version_no"),
    "person_version": (
        "id", "person_id", "version_no", "operation", "source_kind", "source_code", "valid_from", "actor",
    ),
    "person_data": (
        "person_id", "version_id", "fam", "im", "ot", "w", "dr", "mr", "birth_oksm", "c_oksm", "kateg", "ss",
        "status", "ddeath", "phone", "email", "valid_from",
    ),
    "identity_document": (
        "person_id", "version_id", "doctype", "docser", "docnum", "docdate", "docexp", "name_vp", "is_main",
        "valid_from",
    ),
    "address": (
        "person_id", "version_id", "kind", "okato", "region", "district", "settlement", "street", "house",
        "flat", "fias_guid", "valid_from",
    ),
    "insurance_period": (
        "person_id", "version_id", "smo_code", "ogrnsmo", "ter_st", "enp", "vpolis", "spolis", "npolis",
        "dbeg", "dend", "dstop", "stop_reason", "rsmo", "rpolis", "method",
    ),
    "attachment": (
        "person_id", "version_id", "mo_code", "area_type", "section", "doctor_snils", "date_in", "date_out",
        "method",
    ),
    "enp_alias": ("enp", "person_id", "is_main", "reason"),
    "change_journal": ("person_id", "version_id", "operation", "smo_code", "mo_codes"),
}

# fmt: on

SEED_OPERATION: Final = "SEED"
BATCH_SIZE: Final = 20_000
#: Below this many persons starting worker processes costs more than it saves.
INLINE_LIMIT: Final = 50_000


@dataclass(frozen=True)
class SeedResult:
    """What a seed did: ``rows`` per table, the index range generated, where the time went."""

    persons: int
    seconds: float
    rows: dict[str, int]
    first_index: int
    first_person_id: int
    indexes_rebuilt: bool
    phases: dict[str, float] = field(default_factory=dict)
    rebuild_seconds: dict[str, float] = field(default_factory=dict)
    frozen_tables: tuple[str, ...] = ()

    @property
    def persons_per_second(self) -> float:
        return self.persons / self.seconds if self.seconds else 0.0


# =========================================================================== the reference


def region_reference_from_files(
    settings: Settings, on: date | None = None, files: Iterable[Path] | None = None
) -> RegionReference:
    """The reference from НСИ files (the bundled demo directories by default) — no database needed."""
    from rserz_soap.files.nsi import bundled_files, parse_nsi_file

    records: dict[str, list[Any]] = {}
    for path in files if files is not None else bundled_files():
        parsed = parse_nsi_file(path)
        records.setdefault(parsed.directory, []).extend(parsed.records)
    return region_reference(
        region_code=settings.region_code,
        okato=settings.region_okato,
        on=on or date.today(),
        f002=records.get("F002", []),
        f003=records.get("F003", []),
        f011=records.get("F011", []),
        f010=records.get("F010", []),
    )


def region_reference_from_nsi(conn: Connection, on: date, settings: Settings) -> RegionReference:
    """The reference from the НСИ loaded in the database, as valid on ``on``.

    Insurers are collected over their whole history (every month from 2003 to ``on``): histories reach
    back to old-style policies and must meet the СМО that have since closed.
    """
    from rserz_soap.db.nsi import records_on

    smo: dict[str, Any] = {}
    month = date(2003, 1, 1)
    while month <= on:
        for record in records_on(conn, "F002", month):
            smo[record.code] = record
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    for record in records_on(conn, "F002", on):
        smo[record.code] = record
    f003 = records_on(conn, "F003", on)
    if not smo or not f003:
        raise ValueError("НСИ F002/F003 are not loaded: run `rserz nsi import` (or `rserz up`) first")
    return region_reference(
        region_code=settings.region_code,
        okato=settings.region_okato,
        on=on,
        f002=list(smo.values()),
        f003=f003,
        f011=records_on(conn, "F011", on),
        f010=records_on(conn, "F010", on),
    )


# =========================================================================== COPY text

_NULL: Final = "\\N"


#: One rendered batch: COPY text per table and row counts per table.
Batch = tuple[dict[str, bytes], dict[str, int]]


def render_batch(
    people: Iterable[SyntheticPerson], first_index: int, first_person_id: int, first_version_id: int
) -> Batch:
    """COPY text of every table for ``people`` (person ``i`` gets id ``first_person_id + i - first_index``).

    Generated values never contain a tab, newline or backslash (tests/demo/test_region.py checks the
    name and place data), so values go into the text unescaped — this function is the hot loop of a seed.
    """
    n = _NULL
    person: list[str] = []
    version: list[str] = []
    data: list[str] = []
    docs: list[str] = []
    addrs: list[str] = []
    periods: list[str] = []
    atts: list[str] = []
    aliases: list[str] = []
    journal: list[str] = []
    for p in people:
        off = p.index - first_index
        pid = first_person_id + off
        vid = first_version_id + off
        ids = f"{pid}\t{vid}\t"
        enp = p.enp
        person.append(f"{pid}\t{enp}\t1\n")
        version.append(f"{vid}\t{pid}\t1\t{SEED_OPERATION}\ttfoms\tseed\t{p.valid_from}\tseed\n")
        data.append(
            f"{ids}{p.fam}\t{p.im}\t{p.ot or n}\t{p.sex}\t{p.birth_date}\t{p.birth_place}\t{p.birth_oksm}\t"
            f"{p.c_oksm}\t{p.kateg}\t{p.snils or n}\t{p.status}\t{p.death_date or n}\t{p.phone or n}\t"
            f"{p.email or n}\t{p.birth_date}\n"
        )
        for d in p.documents:
            docs.append(
                f"{ids}{d.doctype}\t{d.docser or n}\t{d.docnum}\t{d.docdate}\t{d.docexp or n}\t"
                f"{d.name_vp or n}\t{'t' if d.is_main else 'f'}\t{d.docdate}\n"
            )
        for a in p.addresses:
            addrs.append(
                f"{ids}{a.kind}\t{a.okato}\t{a.region}\t{a.district or n}\t{a.settlement}\t{a.street}\t"
                f"{a.house}\t{a.flat or n}\t{a.fias_guid or n}\t{a.valid_from}\n"
            )
        smo = n
        for q in p.periods:
            periods.append(
                f"{ids}{q.smo_code}\t{q.ogrnsmo or n}\t{q.ter_st}\t{q.enp}\t{q.vpolis}\t{q.spolis or n}\t"
                f"{q.npolis}\t{q.dbeg}\t{q.dend or n}\t{q.dstop or n}\t{q.stop_reason or n}\t{q.rsmo or n}\t"
                f"{q.rpolis or n}\t{q.method or n}\n"
            )
            if q.dstop is None:
                smo = q.smo_code
        mo: list[str] = []
        for t in p.attachments:
            atts.append(
                f"{ids}{t.mo_code}\t{t.area_type}\t{t.section or n}\t{t.doctor_snils or n}\t{t.date_in}\t"
                f"{t.date_out or n}\t{t.method}\n"
            )
            if t.date_out is None:
                mo.append(t.mo_code)
        aliases.append(f"{enp}\t{pid}\tt\tassigned\n")
        journal.append(f"{ids}{SEED_OPERATION}\t{smo}\t{' '.join(sorted(mo)) if mo else n}\n")
    tables = (person, version, data, docs, addrs, periods, atts, aliases, journal)
    blocks = {name: "".join(rows).encode() for name, rows in zip(PERSON_TABLES, tables, strict=True)}
    counts = {name: len(rows) for name, rows in zip(PERSON_TABLES, tables, strict=True)}
    return blocks, counts


# =========================================================================== worker processes

_worker_generator: Generator | None = None


def _init_worker(reference: RegionReference, seed: int, duplicate_share: float) -> None:
    global _worker_generator
    _worker_generator = Generator(reference, seed, duplicate_share)


def _render_task(task: tuple[int, int, int, int, int]) -> tuple[dict[str, bytes], dict[str, int]]:
    start, stop, first_index, first_pid, first_vid = task
    assert _worker_generator is not None
    return render_batch(_worker_generator.persons(start, stop), first_index, first_pid, first_vid)


def _batches(
    tasks: Sequence[tuple[int, int, int, int, int]],
    reference: RegionReference,
    seed: int,
    duplicate_share: float,
    workers: int,
) -> Iterator[tuple[dict[str, bytes], dict[str, int]]]:
    """Rendered batches in order; with workers, at most ``2·workers`` are in flight (bounded memory)."""
    return in_order(
        tasks,
        _render_task,
        workers=workers,
        initializer=_init_worker,
        initargs=(reference, seed, duplicate_share),
    )


# =========================================================================== seeding


#: ``batches_for(first_index, first_person_id, first_version_id)`` → rendered batches, in index order.
BatchSource = Callable[[int, int, int], Iterable[tuple[dict[str, bytes], dict[str, int]]]]


def seed_region(
    engine: Engine,
    reference: RegionReference,
    n: int,
    seed: int,
    *,
    progress: bool = True,
    workers: int | None = None,
    duplicate_share: float = 0.005,
    batch_size: int = BATCH_SIZE,
) -> SeedResult:
    """Generate ``n`` persons of the region for ``seed`` and load them; returns counts and timings.

    On a register that already holds persons, the population continues after them: indices start at
    the next ЕНП group after ``max(person.id)``, so their ЕНП (serial = index // ENP_GROUP) and СНИЛС
    never meet those of an earlier seed, whatever its seed. ``workers=None`` chooses inline generation
    for small ``n`` and one process per core otherwise; ``0`` always generates inline.
    """
    if workers is None:
        workers = 0 if n <= INLINE_LIMIT else (os.cpu_count() or 2)
    chosen_workers = workers

    def batches_for(first_index: int, first_pid: int, first_vid: int) -> Iterable[Batch]:
        tasks = [
            (s, min(s + batch_size, first_index + n), first_index, first_pid, first_vid)
            for s in range(first_index, first_index + n, batch_size)
        ]
        return _batches(tasks, reference, seed, duplicate_share, chosen_workers)

    return load_batches(engine, n, batches_for, progress=progress)


def load_batches(engine: Engine, n: int, batches_for: BatchSource, *, progress: bool = True) -> SeedResult:
    """Load ``n`` persons' rendered batches in one transaction (the loading half of :func:`seed_region`).

    Takes the ids first (under a lock on ``person``), then asks ``batches_for`` for the batches, so the
    benchmark can feed pre-rendered text through exactly the same path.
    """
    from tqdm import tqdm

    if n <= 0:
        raise ValueError("n must be positive")
    t_start = time.perf_counter()
    phases: dict[str, float] = {}
    rows = dict.fromkeys(PERSON_TABLES, 0)
    with engine.connect() as conn, conn.begin():
        raw = bulk.raw_connection(conn)
        cur = raw.cursor()
        # Nobody may register a person while ids and ЕНП serials are being handed out in bulk.
        cur.execute("LOCK TABLE person IN SHARE ROW EXCLUSIVE MODE")
        cur.execute("SELECT max(id) FROM person")
        max_pid: int | None = (cur.fetchone() or (None,))[0]
        cur.execute("SELECT max(id) FROM person_version")
        max_vid: int | None = (cur.fetchone() or (None,))[0]
        empty = max_pid is None
        first_index = 0 if max_pid is None else math.ceil(max_pid / ENP_GROUP) * ENP_GROUP
        if first_index + n > MAX_PERSONS:
            room = MAX_PERSONS - first_index
            raise ValueError(f"the register's ЕНП serial space allows {room} more persons")
        first_pid = (max_pid or 0) + 1
        first_vid = (max_vid or 0) + 1
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
        dropped: bulk.indexes_dropped | None = None
        frozen: set[str] = set()
        if empty:
            dropped = bulk.indexes_dropped(conn, PERSON_TABLES).__enter__()
            frozen = set(bulk.truncate_for_freeze(conn, PERSON_TABLES))
        statements = {t: bulk.copy_statement(t, COLUMNS[t], freeze=t in frozen) for t in PERSON_TABLES}
        phases["prepare"] = time.perf_counter() - t_start

        t0 = time.perf_counter()
        with tqdm(total=n, unit=" persons", unit_scale=True, disable=not progress, smoothing=0.05) as bar:
            bar.set_postfix_str("generating + COPY")
            for blocks, counts in batches_for(first_index, first_pid, first_vid):
                for table in PERSON_TABLES:
                    with cur.copy(statements[table]) as copy:
                        copy.write(blocks[table])
                    rows[table] += counts[table]
                bar.update(counts["person"])
            phases["generate_copy"] = time.perf_counter() - t0
            if dropped is not None:
                t0 = time.perf_counter()
                bar.set_postfix_str("building indexes")
                dropped.__exit__(None, None, None)
                phases["indexes"] = time.perf_counter() - t0
            bulk.reset_sequences(conn, PERSON_TABLES)
        t0 = time.perf_counter()
    phases["commit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE " + ", ".join(PERSON_TABLES)))
    phases["analyze"] = time.perf_counter() - t0
    if rows["person"] != n:
        raise RuntimeError(f"loaded {rows['person']} persons instead of {n}")
    return SeedResult(
        persons=n,
        seconds=time.perf_counter() - t_start,
        rows=rows,
        first_index=first_index,
        first_person_id=first_pid,
        indexes_rebuilt=empty,
        phases=phases,
        rebuild_seconds=dropped.report.seconds if dropped is not None else {},
        frozen_tables=tuple(t for t in PERSON_TABLES if t in frozen),
    )
