from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import make_url

from rserz_soap.db import migrate
from rserz_soap.db.engine import make_engine, normalize_url
from rserz_soap.db.tables import include_object, metadata


def test_schema_is_at_head_and_matches_the_tables(db_engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert head is not None
    assert migrate.current_revision(db_engine) == head
    with db_engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_object": include_object}), metadata
        )
    assert diff == [], f"migrations and rserz_soap/db/tables.py disagree: {diff}"


def test_pg_trgm_is_installed(db_conn: Connection) -> None:
    assert db_conn.execute(text("SELECT similarity('ИВАНОВ', 'ИВАНОФ')")).scalar_one() > 0.3


def test_every_aspect_table_is_versioned(db_engine: Engine) -> None:
    insp = inspect(db_engine)
    for table in ("person_data", "identity_document", "address", "insurance_period", "attachment"):
        cols = {c["name"] for c in insp.get_columns(table)}
        assert {"person_id", "version_id", "recorded_at", "superseded_at", "superseded_by"} <= cols, table


# --------------------------------------------------------------------------- 0005: the published KATEG table


@pytest.fixture
def empty_engine(db_engine: Engine, database_url: str) -> Iterator[Engine]:
    """A database of its own with no schema yet, to walk the migrations step by step."""
    base = make_url(normalize_url(database_url))
    name = f"{base.database}_mig_{uuid.uuid4().hex[:8]}"
    with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False), pool_size=1)
    yield engine
    engine.dispose()
    with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


#: old code → (citizenship, new code) after 0005 (the migration's docstring table).
RECODED = {
    (0, "112"): 3,  # an EAEU worker
    (0, "860"): 0,  # "0" without an EAEU citizenship: unknown
    (1, "643"): 1,
    (2, "643"): 6,
    (3, "860"): 2,
    (4, "860"): 7,
    (5, None): 4,
    (6, None): 9,
    (7, "860"): 3,
    (8, "860"): 8,
    (9, None): 11,
    (10, None): 12,
    (11, "804"): 5,
    (12, "804"): 10,
}


def _seed_0004(conn: Connection) -> dict[tuple[int, str | None], int]:
    """Persons with every old code, a superseded row, buffer entries, a push, pins and a federal value."""
    pids: dict[tuple[int, str | None], int] = {}
    for n, (kateg, oksm) in enumerate(RECODED, start=1):
        conn.execute(
            text("INSERT INTO person (id, main_enp, version_no) VALUES (:id, :enp, 1)"),
            {"id": n, "enp": f"{n:016d}"},
        )
        conn.execute(
            text(
                "INSERT INTO person_version (id, person_id, version_no, operation, source_kind, source_code,"
                " valid_from) VALUES (:id, :id, 1, 'SEED', 'tfoms', 'seed', '2020-01-01')"
            ),
            {"id": n},
        )
        conn.execute(
            text(
                "INSERT INTO person_data (person_id, version_id, fam, im, w, dr, c_oksm, kateg, status)"
                " VALUES (:id, :id, 'Тестова', 'Анна', 2, '1980-01-01', :oksm, :kateg, 'insured')"
            ),
            {"id": n, "oksm": oksm, "kateg": kateg},
        )
        pids[(kateg, oksm)] = n
    # the earlier, superseded row of a citizen who stopped working: history is recoded too
    conn.execute(
        text(
            "INSERT INTO person_data (person_id, version_id, fam, im, w, dr, c_oksm, kateg, status,"
            " superseded_at) VALUES (:id, :id, 'Тестова', 'Анна', 2, '1980-01-01', '643', 1, 'insured', now())"
        ),
        {"id": pids[(2, "643")]},
    )
    smo = conn.execute(
        text("INSERT INTO participant (kind, code, name) VALUES ('smo', '45001', 'СМО') RETURNING id")
    ).scalar_one()
    for state in ("received", "awaiting_review", "applied", "rejected"):
        payload = {"person": {"kateg": 2, "c_oksm": "643"}, "old_person": {"kateg": 4, "c_oksm": "860"}}
        conn.execute(
            text(
                "INSERT INTO buffer_entry (participant_id, n_rec, tip_op, payload, state)"
                " VALUES (:p, 1, 'П040', CAST(:payload AS jsonb), :state)"
            ),
            {"p": smo, "payload": json.dumps(payload), "state": state},
        )
    pending = conn.execute(text("SELECT id FROM buffer_entry WHERE state = 'awaiting_review'")).scalar_one()
    applied = conn.execute(text("SELECT id FROM buffer_entry WHERE state = 'applied'")).scalar_one()
    for entry, state in ((pending, "pending"), (applied, "accepted")):
        conn.execute(
            text(
                "INSERT INTO federal_push (entry_id, request_id, operation, change_date, card, state)"
                " VALUES (:e, :r, 'П040', '2025-01-01', CAST(:card AS jsonb), :state)"
            ),
            {
                "e": entry,
                "r": uuid.uuid4(),
                "card": json.dumps({"data": {"kateg": 0, "c_oksm": "112"}}),
                "state": state,
            },
        )
    eaeu = pids[(0, "112")]
    conn.execute(
        text(
            "INSERT INTO person_pin (person_id, field, value, federal_value, justification, actor)"
            " VALUES (:p, 'kateg', '0', '8', 'решение комиссии', 'op')"
        ),
        {"p": eaeu},
    )
    conn.execute(
        text(
            "INSERT INTO federal_value (person_id, field, value, source) VALUES (:p, 'kateg', '12', 'test')"
        ),
        {"p": pids[(12, "804")]},
    )
    return pids


def test_0005_recodes_every_stored_kateg_of_the_old_table(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0004")
    with empty_engine.begin() as conn:
        pids = _seed_0004(conn)

    migrate.upgrade(empty_engine)

    with empty_engine.connect() as conn:
        current: dict[int, int] = dict(
            conn.execute(text("SELECT person_id, kateg FROM person_data WHERE superseded_at IS NULL")).all()
        )
        assert {key: current[pid] for key, pid in pids.items()} == RECODED
        superseded = conn.execute(
            text("SELECT kateg FROM person_data WHERE superseded_at IS NOT NULL")
        ).scalar_one()
        assert superseded == 1  # a working citizen stays 1
        payloads: dict[str, Any] = dict(conn.execute(text("SELECT state, payload FROM buffer_entry")).all())
        assert (
            payloads["received"]["person"]["kateg"] == 6 and payloads["received"]["old_person"]["kateg"] == 7
        )
        assert payloads["awaiting_review"]["person"]["kateg"] == 6
        assert payloads["applied"]["person"]["kateg"] == 2  # final entries keep what was received
        assert payloads["rejected"]["person"]["kateg"] == 2
        cards: dict[str, Any] = dict(conn.execute(text("SELECT state, card FROM federal_push")).all())
        assert cards["pending"]["data"]["kateg"] == 3 and cards["accepted"]["data"]["kateg"] == 0
        pin = conn.execute(text("SELECT value, federal_value FROM person_pin")).one()
        assert tuple(pin) == (3, 8)
        assert conn.execute(text("SELECT value FROM federal_value")).scalar_one() == 10
        columns = {c["name"] for c in inspect(conn).get_columns("address")}
        assert {"postcode", "building", "registered_on", "homeless", "fias_aoid", "fias_houseid"} <= columns

    _downgrade(empty_engine, "0004")

    with empty_engine.connect() as conn:
        back: dict[int, int] = dict(
            conn.execute(text("SELECT person_id, kateg FROM person_data WHERE superseded_at IS NULL")).all()
        )
        assert back[pids[(2, "643")]] == 2 and back[pids[(11, "804")]] == 11
        assert back[pids[(0, "112")]] == 7  # lossy: an EAEU worker comes back as a temporary foreign worker
        columns = {c["name"] for c in inspect(conn).get_columns("address")}
        assert "postcode" not in columns


def _downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    cfg = migrate.alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_a_records_pending_conflicts_are_found_through_the_index_whatever_the_plan(
    db_conn: Connection,
) -> None:
    """Every undecided state is in the partial index's predicate, and the conflict query states it as a
    constant: a prepared statement's generic plan reads the index, not the whole buffer (migration 0015)."""
    from rserz_soap.db.buffer import _PERSON_CONFLICTS_SQL
    from rserz_soap.db.tables import PENDING_INDEX_PREDICATE
    from rserz_soap.domain.buffer import PENDING

    named = set(PENDING_INDEX_PREDICATE.removeprefix("state IN (").removesuffix(")").split(", "))
    assert named == {f"'{s.value}'" for s in PENDING}
    sql = _PERSON_CONFLICTS_SQL.text
    for n, name in enumerate((":pids", ":eids", ":sids", ":pending"), start=1):
        sql = sql.replace(name, f"${n}")
    db_conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    db_conn.execute(text("SET LOCAL enable_seqscan = off"))  # a seq scan only where no index can serve
    db_conn.execute(text(f"PREPARE pending_conflicts (bigint[], bigint[], int[], text[]) AS {sql}"))
    try:
        plan = "\n".join(
            db_conn.execute(
                text("EXPLAIN EXECUTE pending_conflicts('{1}', '{2}', '{3}', '{received,awaiting_federal}')")
            ).scalars()
        )
    finally:
        db_conn.execute(text("DEALLOCATE pending_conflicts"))
    assert "ix_buffer_entry_person_pending" in plan and "Seq Scan on buffer_entry" not in plan, plan
