"""The drain job finishes what a crash left in the buffer, run by a real RQ worker on real Redis."""

from __future__ import annotations

import redis
from rq import Queue, SimpleWorker
from sqlalchemy import Engine, text

from rserz_soap.db.participants import upsert_participant
from rserz_soap.domain.buffer import Submitter
from rserz_soap.jobs import buffer as buffer_jobs
from tests import builders
from tests.harness import Register


def test_pending_entries_are_drained_and_the_feed_published(
    fresh_engine: Engine, settings, redis_conn: redis.Redis, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    url = fresh_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("RSERZ_DATABASE_URL", url)
    monkeypatch.setenv("RSERZ_FEDERAL_FIRST", "0")  # the register alone: applied at once, then published
    registry = Register.of(fresh_engine, settings)
    with fresh_engine.begin() as conn:
        pid = upsert_participant(conn, "smo", "45001", "СМО")
    ids = registry.receive(
        Submitter(pid, "smo", "45001"), [builders.record("П010")]
    )  # received, then "a crash"
    queue = Queue("test-buffer", connection=redis_conn)
    drain = queue.enqueue(buffer_jobs.drain)
    publish = queue.enqueue(buffer_jobs.publish_feed)
    SimpleWorker([queue], connection=redis_conn).work(burst=True)
    assert drain.return_value() == 1 and publish.return_value() == 1
    assert [r.code_erp for r in registry.results(ids)] == ["AA"]
    with fresh_engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM change_journal WHERE feed_seq IS NOT NULL")).scalar_one()
            == 1
        )
