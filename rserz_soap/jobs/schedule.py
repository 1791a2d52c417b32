"""The periodic jobs of the hub (RQ's cron scheduler); later issues add federal sync, snapshots, backups."""

from __future__ import annotations

from redis import Redis
from rq.cron import CronScheduler

from rserz_soap.jobs import housekeeping, queues


def build_scheduler(connection: Redis) -> CronScheduler:
    scheduler = CronScheduler(connection=connection, name="rserz-scheduler")
    scheduler.register(housekeeping.heartbeat, queues.DEFAULT, interval=60, job_timeout=30)
    return scheduler
