from __future__ import annotations

import redis
from rq import Queue, SimpleWorker

from rserz_soap.jobs import housekeeping, queues
from rserz_soap.jobs.schedule import build_scheduler


def test_heartbeat_runs_on_a_real_worker(redis_conn: redis.Redis) -> None:
    redis_conn.delete(housekeeping.HEARTBEAT_KEY)
    queue = Queue(queues.DEFAULT, connection=redis_conn)
    job = queue.enqueue(housekeeping.heartbeat)
    SimpleWorker([queue], connection=redis_conn).work(burst=True)
    assert job.get_status(refresh=True) == "finished"
    stored = redis_conn.hget(housekeeping.HEARTBEAT_KEY, "at")
    assert isinstance(stored, bytes) and stored.decode() == job.return_value()


def test_schedule_registers_the_periodic_jobs(redis_conn: redis.Redis) -> None:
    from rserz_soap.jobs import backup, buffer, federal, files, iszl, nsi, smev, snapshots

    jobs = build_scheduler(redis_conn).get_jobs()
    assert [j.func for j in jobs] == [
        housekeeping.heartbeat,
        buffer.drain,
        buffer.publish_feed,
        federal.scheduled_push,
        iszl.deliver_events,
        federal.scheduled_sync,
        federal.resume_stale_reconciliations,
        smev.scheduled_zags,
        smev.scheduled_snils,
        snapshots.publish_due,
        files.daily,
        backup.nightly,
        nsi.scheduled_update,
        housekeeping.prune_disclosures,
    ]
    # federal work has its own queue, so a long reconciliation never delays the buffer
    assert {j.func: j.queue_name for j in jobs}[federal.scheduled_push] == queues.FEDERAL
    # СМЭВ polls on theirs: an unreachable СМЭВ never holds up ФЕРЗЛ or the buffer
    assert {j.queue_name for j in jobs if j.func in (smev.scheduled_zags, smev.scheduled_snils)} == {
        queues.SMEV
    }
    assert {j.queue_name for j in jobs if j.func in (buffer.drain, buffer.publish_feed)} == {queues.DEFAULT}
