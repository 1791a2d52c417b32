"""Federal register jobs (queue ``federal``): applications, ФЕРЗЛ's events, reconciliation.

Retries are RQ's, with an explicit list of intervals (:data:`RETRY_INTERVALS`), never loops inside a job:
a job that meets an unreachable ФЕРЗЛ raises, RQ runs it again later, and the work resumes where its last
transaction left it (an entry still ``awaiting_federal``, a day's change cursor, a run's ЕНП cursor). The
worker runs with its scheduler, so a retry waits in Redis, not in a sleeping process.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from rq import Queue, Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from rserz_soap.config import load_settings
from rserz_soap.federal.mpi_client import MpiClient
from rserz_soap.jobs import queues
from rserz_soap.jobs.resources import services
from rserz_soap.usecases import federal_events, outbox, reconcile
from rserz_soap.usecases.federal_port import FederalUnavailable
from rserz_soap.usecases.wiring import build_intake

log = logging.getLogger(__name__)

#: seconds between the attempts of a job that could not reach ФЕРЗЛ (about 6 hours in all)
RETRY_INTERVALS = [5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 3600, 3600, 3600, 3600]
#: a running reconciliation with no settled batch for this long has lost its worker: resume it
STALE_AFTER_SECONDS = 300


def retry(intervals: list[int] | None = None) -> Retry:
    chosen = intervals or RETRY_INTERVALS
    return Retry(max=len(chosen), interval=chosen)


def push_pending() -> dict[str, int]:
    """Send every change waiting for ФЕРЗЛ (in order); raises while ФЕРЗЛ is unreachable."""
    settings = load_settings()
    # the sender's calls journal themselves from its threads, beside its lock and its transactions
    with services(pool_size=settings.ferzl_push_parallel + 2) as (settings, db, redis):
        if not settings.federal_first:
            return {}
        client = MpiClient.from_settings(settings, redis, db)
        report = outbox.push_pending(
            db.unit_of_work(),
            build_intake(db.unit_of_work(), settings),
            client,
            lanes=settings.ferzl_push_lanes,
            parallel=settings.ferzl_push_parallel,
        )
    if report.sent or report.not_sent:
        log.info("ФЕРЗЛ applications: %s", report)
    return {k: v for k, v in vars(report).items() if k != "formed"}


def push_soon(connection: Any) -> None:
    """Enqueue the ФЕРЗЛ push now — a request has just left changes awaiting ФЕРЗЛ — rather than leave them
    to the scheduler's next tick; one such job waits at a time however many requests ask."""
    _enqueue_once(connection, push_pending, "rserz-ferzl-push-now", delay=0)


def sync_changes(today: str | None = None) -> list[dict[str, Any]]:
    """Take ФЕРЗЛ's events (§5) of the days not yet taken, both feeds, and apply each once."""
    with services() as (settings, db, redis):
        client = MpiClient.from_settings(settings, redis, db)
        day = date.fromisoformat(today) if today else date.today()
        reports = [
            federal_events.pull(db.unit_of_work(), client, settings.region_okato, today=day, feed=feed)
            for feed in federal_events.FEEDS
        ]
    for r in reports:
        log.info(
            "ФЕРЗЛ %s %s: %d events (%d repeats) %s",
            r.feed,
            r.window,
            r.events,
            r.duplicates,
            dict(r.outcomes),
        )
    return [
        {"feed": r.feed, "events": r.events, "duplicates": r.duplicates, "outcomes": dict(r.outcomes)}
        for r in reports
    ]


def run_reconciliation(run_id: int) -> str:
    """Drive a reconciliation run to its end; resumes from its cursor if it was interrupted."""
    with services() as (settings, db, redis):
        reconciler = reconcile.Reconciler(
            db.unit_of_work(), MpiClient.from_settings(settings, redis, db), settings.region_okato
        )
        try:
            progress = reconciler.run(run_id)
        except reconcile.RunBusy:
            return "busy"
    return reconcile.dumps(progress)


def enqueue_reconciliation(redis: Any, run_id: int, *, intervals: list[int] | None = None) -> Job:
    return Queue(queues.FEDERAL, connection=redis).enqueue(
        run_reconciliation,
        run_id,
        retry=retry(intervals),
        job_timeout=6 * 3600,
        description=f"reconciliation {run_id}",
    )


def resume_stale_reconciliations() -> list[int]:
    """Re-enqueue runs whose worker died (no heartbeat): the run lock makes a double resume harmless."""
    with services() as (_settings, db, redis):
        stale = reconcile.stale_runs(db.unit_of_work(), STALE_AFTER_SECONDS)
        for run_id in stale:
            log.warning("reconciliation %s lost its worker; resuming", run_id)
            enqueue_reconciliation(redis, run_id)
    return stale


# -- the scheduler's entry points ------------------------------------------------------------------------
# The cron scheduler cannot attach a Retry to what it enqueues. Its entry points therefore catch an
# unreachable ФЕРЗЛ, say so in one line, and hand the work to a job that has the retry intervals — one
# such job at a time (a fixed job id), however many ticks pass during an outage.


def scheduled_push() -> dict[str, int]:
    job = get_current_job()
    if job is not None:  # the other lanes to workers that are free (a fixed id each: one waiting at a time)
        lanes = load_settings().ferzl_push_lanes
        for lane in range(1, lanes):
            _enqueue_once(job.connection, push_pending, f"rserz-ferzl-push-lane-{lane}", delay=0)
    try:
        return push_pending()
    except FederalUnavailable as exc:
        log.warning("ФЕРЗЛ pushes wait: %s", exc)
        _retry_later(push_pending, "rserz-ferzl-push-retry")
        return {}


def scheduled_sync() -> list[dict[str, Any]]:
    try:
        return sync_changes()
    except FederalUnavailable as exc:
        log.warning("ФЕРЗЛ daily changes wait: %s", exc)
        _retry_later(sync_changes, "rserz-ferzl-sync-retry")
        return []


def _retry_later(func: Any, job_id: str) -> None:
    job = get_current_job()
    if job is not None:
        _enqueue_once(job.connection, func, job_id, delay=RETRY_INTERVALS[0])


def _enqueue_once(connection: Any, func: Any, job_id: str, *, delay: int) -> None:
    """Enqueue ``func`` under a fixed id unless that job is already waiting or running."""
    try:
        existing = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        existing = None
    if existing is not None and existing.get_status(refresh=True) in _WAITING:
        return
    queue = Queue(queues.FEDERAL, connection=connection)
    if delay:
        queue.enqueue_in(timedelta(seconds=delay), func, job_id=job_id, retry=retry())
    else:
        queue.enqueue(func, job_id=job_id, retry=retry())


_WAITING = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED)
