"""The fault suite's invariant checker can fail: each violation, planted in a real database on top of a
register made by the real code paths, is reported by its own check — and only the healthy state passes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from rserz_soap.db import feed, invariants
from rserz_soap.db.engine import make_engine
from rserz_soap.db.invariants import Acknowledged
from tests import builders
from tests.harness import cloned_database, rolled_back


@pytest.fixture(scope="module")
def registered(db_engine: Engine, database_url: str, template_database: str) -> Iterator[Engine]:
    """A database of the module's own: three persons registered as П010 does, the feed published (in a
    later transaction: a row is published once its own has ended), the ИСЗЛ served to the feed's end."""
    with cloned_database(db_engine, database_url, template_database, "inv") as url:
        engine = make_engine(url)
        with engine.begin() as conn:
            for n in range(3):
                builders.register_person(
                    conn,
                    builders.record(
                        person=builders.person_data(fam=f"Инвариантова{'а' * n}"),
                        documents=(builders.passport(docnum=f"77000{n}"),),
                    ),
                )
        with engine.begin() as conn:
            assert feed.publish(conn) == 3
            conn.execute(
                text(
                    "INSERT INTO feed_cursor (name, position) SELECT 'iszl', max(feed_seq) FROM change_journal"
                )
            )
        yield engine
        engine.dispose()


@pytest.fixture
def register(registered: Engine) -> Iterator[Connection]:
    """The registered database inside a transaction rolled back after the test: each plants its own."""
    with rolled_back(registered) as conn:
        yield conn


def _failing(conn: Connection, acks: list[Acknowledged] | None = None) -> dict[str, invariants.Result]:
    return {r.name: r for r in invariants.check_all(conn, acks or []) if not r.ok}


def _participant(conn: Connection, code: str = "45991") -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO participant (kind, code, name) VALUES ('smo', :c, 'СМО проверки')"
                " ON CONFLICT (kind, code) DO UPDATE SET name = excluded.name RETURNING id"
            ),
            {"c": code},
        ).scalar_one()
    )


def _entry(conn: Connection, state: str, *, request_id: uuid.UUID | None = None, n_rec: int = 1) -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO buffer_entry (participant_id, request_id, batch_id, n_rec, tip_op, payload, state)"
                " VALUES (:p, :r, :b, :n, 'П010', '{}', :s) RETURNING id"
            ),
            {"p": _participant(conn), "r": request_id, "b": uuid.uuid4(), "n": n_rec, "s": state},
        ).scalar_one()
    )


def _person(conn: Connection) -> int:
    return int(conn.execute(text("SELECT min(id) FROM person")).scalar_one())


def test_the_healthy_register_passes_every_check(register: Connection) -> None:
    results = invariants.check_all(register)
    assert [r.name for r in results if not r.ok] == []
    assert len(results) == 13


def _acknowledged_but_lost(conn: Connection) -> list[Acknowledged]:
    return [Acknowledged("smo", "45991", uuid.uuid4(), 2)]


def _acknowledged_with_a_record_missing(conn: Connection) -> list[Acknowledged]:
    rid = uuid.uuid4()
    conn.execute(
        text(
            "INSERT INTO idempotency_key (participant_id, request_id, operation, request_sha256, response_body)"
            " VALUES (:p, :r, 'submitOperations', 'x', '<answer/>')"
        ),
        {"p": _participant(conn), "r": rid},
    )
    _entry(conn, "applied", request_id=rid, n_rec=1)
    return [Acknowledged("smo", "45991", rid, 2)]  # two records were sent, one is in the buffer


def _applied_twice(conn: Connection) -> None:
    entry = _entry(conn, "applied")
    conn.execute(
        text(
            "UPDATE person_version SET buffer_entry_id = :e WHERE id IN (SELECT id FROM person_version LIMIT 2)"
        ),
        {"e": entry},
    )


PLANTED: list[tuple[str, Callable[[Connection], object], str]] = [
    ("acknowledged writes", _acknowledged_but_lost, "no such participant"),
    ("acknowledged writes", _acknowledged_with_a_record_missing, "1 buffer entries, 2 records sent"),
    ("applied exactly once", _applied_twice, "2 versions"),
    (
        "versions without gaps",
        lambda c: c.execute(
            text("UPDATE person SET version_no = version_no + 1 WHERE id = (SELECT min(id) FROM person)")
        ),
        "version_no 2, 1 versions",
    ),
    (
        "change journal complete",
        lambda c: c.execute(
            text(
                "INSERT INTO change_journal (person_id, version_id, operation, feed_seq)"
                " SELECT person_id, version_id, operation, (SELECT max(feed_seq) + 1 FROM change_journal)"
                " FROM change_journal ORDER BY seq LIMIT 1"
            )
        ),
        "2 journal rows",
    ),
    (
        "feed without gaps",
        lambda c: c.execute(
            text(
                "UPDATE change_journal SET feed_seq = feed_seq + 5 WHERE feed_seq = (SELECT max(feed_seq) FROM change_journal)"
            )
        ),
        "3 positions, min 1, max 8",
    ),
    ("buffer settled", lambda c: _entry(c, "checked"), "checked (not decided)"),
    ("buffer settled", lambda c: _entry(c, "awaiting_federal"), "awaiting_federal without a pending push"),
    ("buffer settled", lambda c: _entry(c, "awaiting_review"), "awaiting_review without a reason"),
    (
        "ФЕРЗЛ outbox drained",
        lambda c: c.execute(
            text(
                "INSERT INTO federal_push (entry_id, request_id, operation, change_date, card, last_error)"
                " VALUES (:e, :r, 'П010', current_date, '{}', 'ФЕРЗЛ unreachable')"
            ),
            {"e": _entry(c, "awaiting_federal"), "r": uuid.uuid4()},
        ),
        "ФЕРЗЛ unreachable",
    ),
    (
        "feed published",
        lambda c: c.execute(
            text("INSERT INTO change_journal (person_id, operation) SELECT min(id), 'MANUAL' FROM person")
        ),
        "unpublished",
    ),
    (
        "ИСЗЛ outbox drained",
        lambda c: c.execute(text("UPDATE feed_cursor SET position = 1, last_error = 'ИСЗЛ down'")),
        "ИСЗЛ cursor at 1 of 3 (ИСЗЛ down)",
    ),
    (
        "СМЭВ outbox drained",
        lambda c: c.execute(
            text(
                "INSERT INTO smev_request (message_id, kind, person_id, state)"
                " SELECT 'm-1', 'SnilsByAdditionalDataRequest', min(id), 'sent' FROM person"
            )
        ),
        "request m-1: sent",
    ),
    (
        "СМЭВ outbox drained",
        lambda c: c.execute(
            text(
                "INSERT INTO smev_inbox (message_id, root, reply_to, payload, state, receipt_message_id)"
                " VALUES ('z-1', 'FATALZPRequest', 'r', '[]', 'applied', 'rc-1')"
            )
        ),
        "ЗАГС push z-1: applied, not acknowledged",
    ),
    (
        "one open insurance period",
        lambda c: c.execute(
            text(
                "INSERT INTO insurance_period (person_id, version_id, smo_code, ter_st, enp, vpolis, npolis, dbeg)"
                " SELECT person_id, version_id, '45002', ter_st, enp, vpolis, npolis || '9', dbeg"
                " FROM insurance_period WHERE superseded_at IS NULL ORDER BY id LIMIT 1"
            )
        ),
        "2 open periods",
    ),
    (
        "attachment with insurance",
        lambda c: c.execute(
            text(
                "INSERT INTO attachment (person_id, version_id, mo_code, area_type, date_in, method)"
                " SELECT person_id, version_id, '450001', 1, current_date, 1 FROM insurance_period"
                " WHERE person_id = (SELECT min(id) FROM person) LIMIT 1;"
                " UPDATE insurance_period SET superseded_at = now() WHERE person_id = (SELECT min(id) FROM person)"
            )
        ),
        "attached to 450001",
    ),
    (
        "no dead insured",
        lambda c: c.execute(
            text(
                "UPDATE person_data SET status = 'dead', ddeath = DATE '2025-06-01'"
                " WHERE person_id = (SELECT min(id) FROM person) AND superseded_at IS NULL"
            )
        ),
        "died 2025-06-01, policy open",
    ),
]


@pytest.mark.parametrize(("check", "plant", "sample"), PLANTED, ids=[f"{c}: {s}" for c, _p, s in PLANTED])
def test_a_planted_violation_is_reported(
    register: Connection, check: str, plant: Callable[[Connection], object], sample: str
) -> None:
    planted = plant(register)
    acks = planted if isinstance(planted, list) else []
    failing = _failing(register, acks)
    assert check in failing, f"{check} passed with the violation planted; failing: {sorted(failing)}"
    result = failing[check]
    assert result.violations >= 1 and any(sample in s for s in result.samples), result.samples


def test_acknowledged_writes_that_were_kept_pass(register: Connection) -> None:
    rid = uuid.uuid4()
    register.execute(
        text(
            "INSERT INTO idempotency_key (participant_id, request_id, operation, request_sha256, response_body)"
            " VALUES (:p, :r, 'submitOperations', 'x', '<answer/>')"
        ),
        {"p": _participant(register), "r": rid},
    )
    for n in (1, 2):
        _entry(register, "rejected", request_id=rid, n_rec=n)
    result = invariants.acknowledged_writes(register, [Acknowledged("smo", "45991", rid, 2)])
    assert result.ok and result.checked == 1
