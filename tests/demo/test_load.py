"""Seeding into real PostgreSQL (a database of its own, see conftest.py).

The read-only tests share one seeded register (module fixture ``seeded``); the tests at the end of the
module change the register and must stay after them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import Connection, Engine, text

from rserz_soap.config import Settings
from rserz_soap.db import persons, search
from rserz_soap.demo import load
from rserz_soap.demo.region import RegionReference, SyntheticPerson, generate
from tests.harness import rolled_back

AS_OF = date(2025, 6, 1)
SETTINGS = Settings(region_code="45", region_okato="45000")
N = 3000
SEED = 5


@dataclass
class Seeded:
    result: load.SeedResult
    people: list[SyntheticPerson]
    indexes_before: set[str]
    fks_before: set[tuple[str, str]]


def _catalog(engine: Engine) -> tuple[set[str], set[tuple[str, str]]]:
    with engine.connect() as conn:
        ix = {
            r[0]
            for r in conn.execute(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY(:t)"
                ),
                {"t": list(load.PERSON_TABLES)},
            )
        }
        fks = {
            (r[0], r[1])
            for r in conn.execute(
                text(
                    "SELECT conname, pg_get_constraintdef(k.oid) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
                    " WHERE k.contype = 'f' AND k.convalidated AND c.relname = ANY(:t)"
                ),
                {"t": list(load.PERSON_TABLES)},
            )
        }
    return ix, fks


def _truncate(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(load.PERSON_TABLES)} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module")
def reference() -> RegionReference:
    return load.region_reference_from_files(SETTINGS, AS_OF)


@pytest.fixture(scope="module")
def seeded(seed_engine: Engine, reference: RegionReference) -> Seeded:
    _truncate(seed_engine)
    ix, fks = _catalog(seed_engine)
    result = load.seed_region(seed_engine, reference, N, SEED, progress=False, workers=0, batch_size=1000)
    return Seeded(result, list(generate(reference, N, SEED)), ix, fks)


@pytest.fixture
def conn(seed_engine: Engine) -> Iterator[Connection]:
    with rolled_back(seed_engine) as c:
        yield c


def _count(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


# --------------------------------------------------------------------------- one seeded register


def test_every_row_is_loaded(seeded: Seeded, conn: Connection) -> None:
    people, result = seeded.people, seeded.result
    expected = {
        "person": N,
        "person_version": N,
        "person_data": N,
        "enp_alias": N,
        "change_journal": N,
        "identity_document": sum(len(p.documents) for p in people),
        "address": sum(len(p.addresses) for p in people),
        "insurance_period": sum(len(p.periods) for p in people),
        "attachment": sum(len(p.attachments) for p in people),
    }
    assert result.rows == expected
    assert {t: _count(conn, t) for t in load.PERSON_TABLES} == expected
    assert result.indexes_rebuilt and result.first_index == 0 and result.first_person_id == 1
    assert result.persons == N and result.seconds > 0


def test_indexes_and_foreign_keys_are_back_exactly(seeded: Seeded, seed_engine: Engine) -> None:
    assert seeded.result.rebuild_seconds
    assert _catalog(seed_engine) == (seeded.indexes_before, seeded.fks_before)
    assert len(seeded.indexes_before) > 20 and len(seeded.fks_before) > 10


def test_sequences_continue_after_the_loaded_ids(seeded: Seeded, conn: Connection) -> None:
    pid = conn.execute(
        text("INSERT INTO person (main_enp) VALUES ('0000000000000000') RETURNING id")
    ).scalar_one()
    assert pid == N + 1
    vid = conn.execute(
        text(
            "INSERT INTO person_version (person_id, version_no, operation, source_kind, source_code, valid_from)"
            " VALUES (:p, 1, 'MANUAL', 'tfoms', 'test', '2025-01-01') RETURNING id"
        ),
        {"p": pid},
    ).scalar_one()
    assert vid == N + 1
    for table in ("identity_document", "insurance_period", "attachment", "address"):
        max_id = conn.execute(text(f"SELECT max(id) FROM {table}")).scalar_one()
        next_id = conn.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")).scalar_one()
        assert next_id == max_id + 1
    seq = conn.execute(text("SELECT nextval(pg_get_serial_sequence('change_journal', 'seq'))")).scalar_one()
    assert seq == N + 1


def test_identification_by_enp_finds_the_right_person(seeded: Seeded, conn: Connection) -> None:
    sample = seeded.people[::97] + [p for p in seeded.people if p.duplicate_of is not None]
    for p in sample:
        rows = conn.execute(
            text("""
            SELECT a.person_id, d.fam, d.im, d.ot, d.dr, d.w, d.ss, a.is_main, pr.main_enp
            FROM enp_alias a JOIN person pr ON pr.id = a.person_id
            JOIN person_data d ON d.person_id = a.person_id AND d.superseded_at IS NULL
            WHERE a.enp = :enp"""),
            {"enp": p.enp},
        ).all()
        assert len(rows) == 1
        (row,) = rows
        assert row.person_id == p.index + 1 and row.is_main and row.main_enp == p.enp
        assert (row.fam, row.im, row.ot, row.dr, row.w, row.ss) == (
            p.fam,
            p.im,
            p.ot,
            p.birth_date,
            p.sex,
            p.snils,
        )


def test_identification_by_name_and_birth_date_uses_the_generated_key(
    seeded: Seeded, conn: Connection
) -> None:
    p = seeded.people[123]
    key = search.name_key(p.fam, p.im, p.ot)
    ids = (
        conn.execute(
            text(
                "SELECT person_id FROM person_data WHERE dr = :dr AND name_key = :key AND superseded_at IS NULL"
            ),
            {"dr": p.birth_date, "key": key},
        )
        .scalars()
        .all()
    )
    assert p.index + 1 in ids


def test_loaded_cards_equal_the_generated_persons(seeded: Seeded, conn: Connection) -> None:
    for p in seeded.people[::151] + [p for p in seeded.people if p.status != "insured"][:20]:
        card = persons.load(conn, p.index + 1).card
        want = p.to_card()
        assert card.enp == want.enp and card.data == want.data
        assert (card.status, card.ddeath) == (want.status, want.ddeath)
        assert card.documents == want.documents and card.addresses == want.addresses
        assert card.insurance == want.insurance and card.attachments == want.attachments
        assert card.version_no == 1


def test_every_person_has_one_seed_version_and_journal_entry(seeded: Seeded, conn: Connection) -> None:
    rows = conn.execute(
        text("""
        SELECT v.person_id, v.operation, v.source_kind, v.source_code, v.valid_from, v.actor, j.smo_code, j.mo_codes
        FROM person_version v JOIN change_journal j ON j.version_id = v.id ORDER BY v.person_id""")
    ).all()
    assert len(rows) == N
    for row, p in zip(rows, seeded.people, strict=True):
        assert (row.operation, row.source_kind, row.source_code, row.actor) == (
            "SEED",
            "tfoms",
            "seed",
            "seed",
        )
        assert row.valid_from == p.valid_from
        current = p.open_period()
        assert row.smo_code == (current.smo_code if current else None)
        active = sorted(a.mo_code for a in p.attachments if a.date_out is None)
        assert row.mo_codes == (" ".join(active) or None)
    aspects = conn.execute(
        text("""
        SELECT count(*) FROM insurance_period i JOIN person_version v ON v.id = i.version_id
        WHERE v.person_id <> i.person_id""")
    ).scalar_one()
    assert aspects == 0


def test_reference_from_the_database_equals_the_one_from_files(
    seeded: Seeded, conn: Connection, reference: RegionReference
) -> None:
    from_db = load.region_reference_from_nsi(conn, AS_OF, SETTINGS)
    assert from_db == reference


# --------------------------------------------------------------------------- tests that change the register


def test_a_second_seed_continues_after_the_first(
    seeded: Seeded, seed_engine: Engine, reference: RegionReference
) -> None:
    more = load.seed_region(seed_engine, reference, 420, SEED + 1, progress=False, workers=0)
    assert not more.indexes_rebuilt
    assert more.first_index == N and more.first_person_id == N + 1
    with seed_engine.connect() as conn:
        assert _count(conn, "person") == N + 420
        assert conn.execute(text("SELECT count(DISTINCT enp) FROM enp_alias")).scalar_one() == N + 420
        assert conn.execute(text("SELECT min(id), max(id) FROM person WHERE id > :n"), {"n": N}).one() == (
            N + 1,
            N + 420,
        )
    assert _catalog(seed_engine) == (seeded.indexes_before, seeded.fks_before)


def test_a_failed_seed_leaves_the_register_as_it_was(
    seed_engine: Engine, reference: RegionReference, monkeypatch: pytest.MonkeyPatch
) -> None:
    _truncate(seed_engine)
    before = _catalog(seed_engine)
    calls = 0
    real = load.render_batch

    def failing(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("generator crashed")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(load, "render_batch", failing)
    with pytest.raises(RuntimeError, match="generator crashed"):
        load.seed_region(seed_engine, reference, 1500, SEED, progress=False, workers=0, batch_size=500)
    with seed_engine.connect() as conn:
        assert _count(conn, "person") == 0
    assert _catalog(seed_engine) == before


def test_worker_processes_render_exactly_what_inline_generation_renders(reference: RegionReference) -> None:
    tasks = [(s, s + 700, 0, 1, 1) for s in range(0, 2100, 700)]
    inline = list(load._batches(tasks, reference, SEED, 0.005, workers=0))
    pooled = list(load._batches(tasks, reference, SEED, 0.005, workers=2))
    assert pooled == inline
