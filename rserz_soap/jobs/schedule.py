"""The periodic jobs of the hub (RQ's cron scheduler)."""

from __future__ import annotations

from redis import Redis
from rq.cron import CronScheduler

from rserz_soap.jobs import backup, buffer, federal, files, housekeeping, iszl, nsi, queues, smev, snapshots


def build_scheduler(connection: Redis) -> CronScheduler:
    scheduler = CronScheduler(connection=connection, name="rserz-scheduler")
    scheduler.register(housekeeping.heartbeat, queues.DEFAULT, interval=60, job_timeout=30)
    scheduler.register(buffer.drain, queues.DEFAULT, interval=60, job_timeout=1800)
    scheduler.register(buffer.publish_feed, queues.DEFAULT, interval=10, job_timeout=300)
    # an accepted change waits for ФЕРЗЛ at most a few seconds; a tick that finds the senders busy returns
    scheduler.register(federal.scheduled_push, queues.FEDERAL, interval=5, job_timeout=1800)
    scheduler.register(iszl.deliver_events, queues.DEFAULT, interval=10, job_timeout=600)
    scheduler.register(federal.scheduled_sync, queues.FEDERAL, interval=3600, job_timeout=3 * 3600)
    scheduler.register(federal.resume_stale_reconciliations, queues.FEDERAL, interval=60, job_timeout=60)
    scheduler.register(smev.scheduled_zags, queues.SMEV, interval=30, job_timeout=1800)
    scheduler.register(smev.scheduled_snils, queues.SMEV, interval=600, job_timeout=1800)
    # 00:00 on the 1st publishes and exports the month's snapshot; the hourly runs after catch up a missed one
    scheduler.register(snapshots.publish_due, queues.EXPORTS, cron="0 * * * *", job_timeout=3600)
    scheduler.register(files.daily, queues.EXPORTS, cron="15 0 * * *", job_timeout=3600)
    scheduler.register(backup.nightly, queues.EXPORTS, cron="30 2 * * *", job_timeout=6 * 3600)
    scheduler.register(nsi.scheduled_update, queues.DEFAULT, interval=3600, job_timeout=1800)
    scheduler.register(housekeeping.prune_disclosures, queues.DEFAULT, interval=86400, job_timeout=3600)
    return scheduler
