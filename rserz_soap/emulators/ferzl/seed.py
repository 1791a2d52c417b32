"""Seeding the ФЕРЗЛ emulator: the federal copy of the demo region, bulk-loaded with COPY.

The population is ``population.federal_population`` — the hub's demo region (same reference, size and
seed, so the ЕНП match) with divergences planted — computed in slices (``federal_slice``) by worker
processes that also render the COPY text, while this process only streams it into the server, the way
``demo/load.py`` seeds the hub. Everything happens in one transaction on tables truncated in it (so
COPY may FREEZE the rows) with the secondary indexes dropped during the load and built once at the end.

Idempotent: if ``fed_person`` already holds anyone, nothing is generated and the stored planted list is
returned — the emulator keeps whatever it holds across restarts, like the hub's register does.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from datetime import date
from typing import Final

from sqlalchemy import Connection, Engine, select, text

from rserz_soap.db import bulk
from rserz_soap.demo.parallel import in_order
from rserz_soap.demo.region import RegionReference
from rserz_soap.emulators.ferzl.cards import card_json, flat_columns
from rserz_soap.emulators.ferzl.population import (
    Divergence,
    FederalPerson,
    Planted,
    federal_only_count,
    federal_only_persons,
    federal_slice,
)
from rserz_soap.emulators.ferzl.store import fed_person, fed_planted

__all__ = ["BATCH_SIZE", "SEED_SOURCE", "planted_list", "render_people", "seed_federal"]

log = logging.getLogger(__name__)

BATCH_SIZE: Final = 10_000
#: Below this many persons starting worker processes costs more than it saves.
INLINE_LIMIT: Final = 30_000
SEED_SOURCE: Final = "seed"

_FLAT: Final = (
    "status", "fam", "im", "ot", "sex", "birth_date", "birth_place", "snils", "death_date",
    "doc_type", "doc_ser", "doc_num", "doc_date", "doc_issuer",
    "smo", "policy_type", "policy_ser", "policy_num", "policy_begin", "policy_date_end",
    "policy_date_stop", "policy_stop_reason", "policy_okato", "policy_end",
)  # fmt: skip
PERSON_COLUMNS: Final = ("enp", "region", *_FLAT, "card", "version_no")
VERSION_COLUMNS: Final = ("enp", "version_no", "recorded_at", "source", "card")
PLANTED_COLUMNS: Final = ("index", "enp", "kind", "field", "regional", "federal")

#: One rendered slice: COPY text of fed_person and fed_person_version, the slice's planted marks.
Rendered = tuple[bytes, bytes, list[Planted], int]


def _value(value: object) -> str:
    """One COPY text value (NULL, ISO dates, numbers, strings escaped only when they need it)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return bulk.escape_copy_text(value)
        return value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def render_people(people: list[FederalPerson], region: str) -> tuple[bytes, bytes]:
    """COPY text of ``fed_person`` and ``fed_person_version`` (version 1) for ``people``.

    The seeded version counts as recorded on the person's birth date: it stands for everything the
    federal register learnt before the emulator existed, so "the state on a date" finds it for any date
    in the person's life.
    """
    persons: list[str] = []
    versions: list[str] = []
    for f in people:
        card = f.card
        enp = card.enp or ""
        # JSON text holds no raw tab or newline (json escapes them); only its backslashes need doubling
        payload = card_json(card).replace("\\", "\\\\")
        flat = flat_columns(card)
        values = "\t".join([_value(flat[c]) for c in _FLAT])
        persons.append(f"{enp}\t{region}\t{values}\t{payload}\t1\n")
        versions.append(f"{enp}\t1\t{card.data.dr.isoformat()}T00:00:00+00\t{SEED_SOURCE}\t{payload}\n")
    return "".join(persons).encode(), "".join(versions).encode()


# --------------------------------------------------------------------------- worker processes

_reference: RegionReference | None = None


def _init_worker(reference: RegionReference) -> None:
    global _reference
    _reference = reference


def _render_task(task: tuple[int, int, int, int, float, str]) -> Rendered:
    n, seed, start, stop, share, region = task
    assert _reference is not None
    people, planted = federal_slice(_reference, n, seed, start, stop, share=share)
    person_text, version_text = render_people(people, region)
    return person_text, version_text, planted, len(people)


def _rendered(
    tasks: list[tuple[int, int, int, int, float, str]], reference: RegionReference, workers: int
) -> Iterator[Rendered]:
    """Rendered slices in order; with workers at most ``2·workers`` in flight (bounded memory)."""
    return in_order(tasks, _render_task, workers=workers, initializer=_init_worker, initargs=(reference,))


# --------------------------------------------------------------------------- seeding


def planted_list(conn: Connection) -> list[Planted]:
    """The stored ground truth, in the order the seed planted it."""
    t = fed_planted.c
    rows = conn.execute(
        select(t.index, t.enp, t.kind, t.field, t.regional, t.federal).order_by(t.index)
    ).all()
    return [Planted(r[0], r[1], Divergence(r[2]), r[3], r[4], r[5]) for r in rows]


def seed_federal(
    engine: Engine,
    reference: RegionReference,
    n: int,
    seed: int,
    *,
    share: float,
    federal_only: int | None = None,
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
) -> list[Planted]:
    """Load the federal copy of the region's ``n`` persons of ``seed``; returns the planted divergences.

    Does nothing but return the stored list when ``fed_person`` is not empty. ``workers=None`` generates
    inline for small ``n`` and with one process per core otherwise.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    if workers is None:
        workers = 0 if n <= INLINE_LIMIT else (os.cpu_count() or 2)
    region = reference.region_code
    started = time.perf_counter()
    with engine.connect() as conn, conn.begin():
        raw = bulk.raw_connection(conn)
        cur = raw.cursor()
        cur.execute("LOCK TABLE fed_person IN ACCESS EXCLUSIVE MODE")  # one seeder at a time
        cur.execute("SELECT EXISTS (SELECT 1 FROM fed_person)")
        row = cur.fetchone()
        if row is not None and row[0]:
            return planted_list(conn)
        cur.execute("TRUNCATE fed_person, fed_person_version, fed_planted")
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for index in fed_person.indexes:
            index.drop(conn)
        person_copy = bulk.copy_statement("fed_person", PERSON_COLUMNS, freeze=True)
        version_copy = bulk.copy_statement("fed_person_version", VERSION_COLUMNS, freeze=True)
        tasks = [(n, seed, s, min(s + batch_size, n), share, region) for s in range(0, n, batch_size)]
        planted: list[Planted] = []
        loaded = 0
        copying = 0.0
        for person_text, version_text, marks, count in _rendered(tasks, reference, workers):
            t0 = time.perf_counter()
            with cur.copy(person_copy) as copy:
                copy.write(person_text)
            with cur.copy(version_copy) as copy:
                copy.write(version_text)
            copying += time.perf_counter() - t0
            planted += marks
            loaded += count
        extra, extra_marks = federal_only_persons(
            reference, n, seed, federal_only_count(len(planted), share, federal_only)
        )
        person_text, version_text = render_people(extra, region)
        with cur.copy(person_copy) as copy:
            copy.write(person_text)
        with cur.copy(version_copy) as copy:
            copy.write(version_text)
        planted += extra_marks
        loaded += len(extra)
        with cur.copy(bulk.copy_statement("fed_planted", PLANTED_COLUMNS, freeze=True)) as copy:
            copy.write(
                "".join(
                    bulk.format_copy_row([m.index, m.enp, m.kind.value, m.field, m.regional, m.federal])
                    for m in planted
                ).encode()
            )
        loaded_at = time.perf_counter()
        for index in fed_person.indexes:
            index.create(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE fed_person, fed_person_version, fed_planted"))
    log.info(
        "ФЕРЗЛ emulator seeded: %d persons, %d planted divergences in %.1f s (COPY %.1f s, indexes %.1f s)",
        loaded,
        len(planted),
        time.perf_counter() - started,
        copying,
        time.perf_counter() - loaded_at,
    )
    return planted
