"""A retry with an interval must not stall because the worker that held RQ's scheduler lock was killed.

RQ moves delayed jobs (``enqueue_in``, ``Retry(interval=…)``: the ФЕРЗЛ pushes', the СМЭВ rounds') to their
queue from the scheduler process of one worker, the holder of a lock in Redis. A worker killed with -9
leaves its lock for a minute, and a new worker takes it over only in its maintenance round — every 600 s
in RQ by default. The fault suite saw a СФР request stay pending that long; `rserz worker` now runs that
round every 15 s (``WORKER_MAINTENANCE_S``)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.job import JobStatus

from rserz_soap.jobs import housekeeping, queues
from rserz_soap.runtime.services import ServiceUrls

pytestmark = pytest.mark.slow

DB = 7  # a Redis database of its own: no other test's jobs or workers


def test_a_delayed_job_runs_soon_after_a_dead_workers_scheduler_lock_expires(
    services: ServiceUrls, env_for_subprocess: dict[str, str]
) -> None:
    url = f"{services.redis_url}?db={DB}"
    redis = Redis.from_url(url)
    redis.flushdb()
    locks = [f"rq:scheduler-lock:{name}" for name in queues.ALL]
    for key in locks:  # as a worker killed with -9 leaves them (RQ's key scheme, its 61 s TTL)
        redis.set(key, "rserz-worker-killed", ex=61)
    worker = subprocess.Popen(
        [sys.executable, "-m", "rserz_soap", "worker"],
        env={**env_for_subprocess, "RSERZ_REDIS_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    queue = Queue(queues.DEFAULT, connection=redis)
    try:
        started = time.monotonic() + 60
        while not Worker.all(connection=redis) and time.monotonic() < started:
            time.sleep(0.2)
        assert Worker.all(connection=redis), "the worker did not start"
        time.sleep(1)  # it tried the locks at its start, and failed: they are the dead worker's
        for key in locks:
            assert redis.exists(key)
            redis.expire(key, 1)  # the dead worker's locks run out now
        job = queue.enqueue_in(timedelta(seconds=1), housekeeping.heartbeat)
        deadline = time.monotonic() + 45  # RQ alone would wait for its 10-minute round
        tick = 0.0
        while time.monotonic() < deadline and job.get_status(refresh=True) != JobStatus.FINISHED:
            if time.monotonic() - tick > 2:  # the hub's cron enqueues a job every few seconds, as here
                queue.enqueue(housekeeping.heartbeat)
                tick = time.monotonic()
            time.sleep(0.5)
        assert job.get_status(refresh=True) == JobStatus.FINISHED, (
            "the delayed job waited for RQ's 10-minute maintenance round"
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        redis.flushdb()
