"""The hub's jobs as RQ knows them: the schedule, each scheduled job's last run, failed jobs to retry.

The schedule is read from ``jobs/schedule.build_scheduler`` itself — what the scheduler runs is what the
console lists, whatever jobs later issues add. The last run of a scheduled job is the newest id of RQ's
cron history for it; results live as long as RQ keeps them (``result_ttl``, 500 s by default; failures
longer), so "last result" is shown while RQ still has it and says so when it no longer does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from rq import Queue
from rq.cron import CronScheduler, get_cron_job_ids
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry

from rserz_soap.jobs import queues
from rserz_soap.jobs.schedule import build_scheduler

JOB_TITLES = {
    "rserz_soap.jobs.housekeeping.heartbeat": "Пульс планировщика",
    "rserz_soap.jobs.buffer.drain": "Буфер: обработка ожидающих записей",
    "rserz_soap.jobs.buffer.publish_feed": "Публикация ленты изменений",
    "rserz_soap.jobs.federal.scheduled_push": "ФЕРЗЛ: отправка принятых изменений",
    "rserz_soap.jobs.federal.scheduled_sync": "ФЕРЗЛ: суточные изменения",
    "rserz_soap.jobs.federal.resume_stale_reconciliations": "ФЕРЗЛ: возобновление прерванных сверок",
    "rserz_soap.jobs.federal.run_reconciliation": "ФЕРЗЛ: сверка",
    "rserz_soap.jobs.snapshots.publish_due": "Срез на 1-е число и его выгрузки (XML, CSV)",
    "rserz_soap.jobs.files.daily": "Суточные файлы СМО (REPLIST, STOPLIST, RECLIST)",
    "rserz_soap.jobs.backup.nightly": "Резервная копия БД (pg_dump)",
}


@dataclass(frozen=True)
class JobView:
    id: str
    func_name: str
    title: str
    queue: str
    status: str
    enqueued_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    result: str | None
    error: str | None
    description: str | None
    triggered_by: str | None


@dataclass(frozen=True)
class Scheduled:
    name: str
    title: str
    queue: str
    every: str
    last: JobView | None


def title(func_name: str) -> str:
    return JOB_TITLES.get(func_name, func_name.rsplit(".", 1)[-1])


def schedule(redis: Any) -> list[Scheduled]:
    out = []
    for cj in build_scheduler(redis).get_jobs():
        ids = get_cron_job_ids(cj.name, redis, 0, 0)
        last = job(redis, ids[0]) if ids else None
        every = f"каждые {cj.interval} с" if cj.interval else f"cron {cj.cron}"
        out.append(Scheduled(cj.name, title(cj.func_name), cj.queue_name, every, last))
    return out


def trigger(redis: Any, name: str, by: str) -> Job:
    """Enqueue a scheduled job now, on its own queue with its own timeout (the schedule is untouched)."""
    for cj in build_scheduler(redis).get_jobs():
        if cj.name == name and cj.func is not None:
            func: Callable[..., Any] = cj.func
            return Queue(cj.queue_name, connection=redis).enqueue(
                func,
                *cj.args,
                **cj.kwargs,
                job_timeout=cj.job_options.get("job_timeout"),
                description=f"{title(cj.func_name)} (вручную)",
                meta={"triggered_by": by},
            )
    raise LookupError(f"no scheduled job {name}")


def job(redis: Any, job_id: str) -> JobView | None:
    try:
        j = Job.fetch(job_id, connection=redis)
    except (NoSuchJobError, RedisError):
        return None
    result = error = None
    status = j.get_status(refresh=False)
    try:
        latest = j.latest_result()
    except RedisError:
        latest = None
    if latest is not None:
        if latest.type == latest.Type.SUCCESSFUL:
            result = _short(repr(latest.return_value))
        else:
            error = _short(latest.exc_string or "", tail=True)
    return JobView(
        j.id,
        j.func_name or "",
        title(j.func_name or ""),
        j.origin,
        str(getattr(status, "value", status)),
        j.enqueued_at,
        j.started_at,
        j.ended_at,
        result,
        error,
        j.description,
        (j.meta or {}).get("triggered_by"),
    )


def failed(redis: Any, limit: int = 50) -> list[JobView]:
    out: list[JobView] = []
    for name in queues.ALL:
        for job_id in FailedJobRegistry(name, connection=redis).get_job_ids(0, limit - 1, desc=True):
            view = job(redis, job_id)
            if view is not None:
                out.append(view)
    return sorted(out, key=lambda v: v.ended_at or datetime.min.replace(tzinfo=None), reverse=True)[:limit]


def running(redis: Any) -> list[JobView]:
    out: list[JobView] = []
    for name in queues.ALL:
        for job_id in StartedJobRegistry(name, connection=redis).get_job_ids():
            view = job(redis, job_id)
            if view is not None:
                out.append(view)
    return out


def retry(redis: Any, job_id: str) -> Job:
    """Requeue a failed job (RQ moves it from the failed registry back to its queue)."""
    j = Job.fetch(job_id, connection=redis)
    return FailedJobRegistry(j.origin, connection=redis).requeue(j)


def schedulers(redis: Any) -> list[tuple[str, datetime | None]]:
    """The cron schedulers alive, with their last heartbeat."""
    try:
        return [(s.name, s.last_heartbeat) for s in CronScheduler.all(redis)]
    except RedisError:
        return []


def _short(text: str, limit: int = 2000, *, tail: bool = False) -> str:
    if len(text) <= limit:
        return text
    return "…" + text[-limit:] if tail else text[:limit] + "…"
