"""СМЭВ 3 jobs (queue ``smev``): the ЕГР ЗАГС poll, СНИЛС requests to СФР and their answers.

Retries are RQ's with explicit intervals, as for ФЕРЗЛ: a job that cannot reach СМЭВ raises, RQ runs it
again later, and the work resumes from the database (the inbox, the filed requests) — never from the
job's memory. The scheduler's entry points catch an unreachable СМЭВ and leave one retrying job behind
(a fixed job id). What each poll did is kept in Redis for ``rserz status`` (:data:`STATUS_KEY`).
"""

from __future__ import annotations

import datetime as dt
import logging
from datetime import timedelta
from typing import Any

from redis import Redis
from rq import Queue, Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from rserz_soap.jobs import queues
from rserz_soap.jobs.resources import services
from rserz_soap.smev.client import SmevClient
from rserz_soap.smev.gateway import SfrGateway, ZagsGateway
from rserz_soap.usecases import snils, zags
from rserz_soap.usecases.smev_port import SmevError, SmevUnavailable

log = logging.getLogger(__name__)

#: seconds between the attempts of a job that could not reach СМЭВ (about 3 hours in all)
RETRY_INTERVALS = [5, 15, 30, 60, 120, 300, 600, 900, 1800, 1800, 1800, 1800]
#: Redis hash of the last polls: last_poll_at, last_ok_at, taken, applied, held, errors, last_error
STATUS_KEY = "rserz:smev:status"


def retry(intervals: list[int] | None = None) -> Retry:
    chosen = intervals or RETRY_INTERVALS
    return Retry(max=len(chosen), interval=chosen)


def _note(redis: Redis, *, ok: bool, error: str | None = None, **counts: int) -> None:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    pipe = redis.pipeline()
    pipe.hset(STATUS_KEY, "last_poll_at", now)
    if ok:
        pipe.hset(STATUS_KEY, "last_ok_at", now)
    else:
        pipe.hincrby(STATUS_KEY, "errors", 1)
        pipe.hset(STATUS_KEY, "last_error", f"{now} {error or '?'}"[:300])
    for name, value in counts.items():
        if value:
            pipe.hincrby(STATUS_KEY, name, value)
    pipe.execute()


def poll_zags(limit: int = 500) -> dict[str, Any]:
    """Take ЕГР ЗАГС pushes (deaths, births, cancellations) and apply them; raises while СМЭВ is away."""
    with services() as (settings, db, redis):
        client = SmevClient.from_settings(settings, redis, db)
        try:
            report = zags.poll(db.unit_of_work(), ZagsGateway(client), limit=limit)
        except (SmevUnavailable, SmevError) as exc:
            _note(redis, ok=False, error=str(exc))
            raise
        finally:
            client.close()
        _note(redis, ok=True, taken=report.taken, applied=report.applied, held=report.held)
    if report.taken or report.finished:
        log.info("ЕГР ЗАГС: %s", report)
    return vars(report)


def snils_round(limit: int = 100) -> dict[str, Any]:
    """File СНИЛС requests for persons without one (and validations), send them, take the answers."""
    with services() as (settings, db, redis):
        client = SmevClient.from_settings(settings, redis, db)
        gateway = SfrGateway(client)
        try:
            filed = snils.plan(db.unit_of_work(), limit=limit)
            sent = snils.send_pending(db.unit_of_work(), gateway, limit=limit * 2)
            taken = snils.take_answers(db.unit_of_work(), gateway, limit=limit * 4)
        except SmevUnavailable as exc:
            _note(redis, ok=False, error=str(exc))
            raise
        finally:
            client.close()
        _note(redis, ok=True, snils_sent=sent.sent, snils_applied=taken.applied, snils_held=taken.held)
    return {"filed": filed.filed, "sent": sent.sent, "refused": sent.refused} | {
        "answers": taken.answers,
        "applied": taken.applied,
        "held": taken.held,
        "confirmed": taken.confirmed,
    }


# -- the scheduler's entry points --------------------------------------------------------------------------


def scheduled_zags() -> dict[str, Any]:
    try:
        return poll_zags()
    except SmevUnavailable as exc:
        log.warning("ЕГР ЗАГС poll waits: %s", exc)
        _retry_later(poll_zags, "rserz-smev-zags-retry")
        return {}


def scheduled_snils() -> dict[str, Any]:
    try:
        return snils_round()
    except SmevUnavailable as exc:
        log.warning("СФР СНИЛС round waits: %s", exc)
        _retry_later(snils_round, "rserz-smev-snils-retry")
        return {}


def _retry_later(func: Any, job_id: str) -> None:
    job = get_current_job()
    if job is None:
        return
    try:
        existing = Job.fetch(job_id, connection=job.connection)
    except NoSuchJobError:
        existing = None
    if existing is not None and existing.get_status(refresh=True) in _WAITING:
        return
    Queue(queues.SMEV, connection=job.connection).enqueue_in(
        timedelta(seconds=RETRY_INTERVALS[0]), func, job_id=job_id, retry=retry()
    )


_WAITING = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED)
