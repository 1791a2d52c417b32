"""Jobs and schedules: what runs when, the last run of each, running and failed jobs; run now, retry."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from werkzeug.wrappers import Response

from rserz_soap.admin import queues, status
from rserz_soap.admin.web import audit, deps, requires, who
from rserz_soap.domain.access import Event, Outcome, Permission

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.get("/")
@requires(Permission.JOBS_VIEW)
def index() -> str:
    redis = deps().redis
    try:
        scheduled = queues.schedule(redis)
        failed = queues.failed(redis)
        running = queues.running(redis)
        schedulers = queues.schedulers(redis)
        error = None
    except RedisError as exc:
        scheduled, failed, running, schedulers, error = (
            [],
            [],
            [],
            [],
            f"Redis недоступен: {type(exc).__name__}",
        )
    return render_template(
        "jobs.html",
        scheduled=scheduled,
        failed=failed,
        running=running,
        schedulers=schedulers,
        machinery=status.machinery(redis),
        error=error,
    )


@bp.get("/<job_id>")
@requires(Permission.JOBS_VIEW)
def job(job_id: str) -> str:
    view = queues.job(deps().redis, job_id)
    if view is None:
        abort(404)
    return render_template("job.html", job=view)


@bp.post("/run")
@requires(Permission.JOBS_RUN)
def run() -> Response:
    name = request.form.get("name", "")
    try:
        j = queues.trigger(deps().redis, name, who().login)
    except (LookupError, RedisError) as exc:
        audit(
            Event.JOB_TRIGGERED,
            Outcome.FAILURE,
            object_type="job",
            object_id=name[:64],
            error=type(exc).__name__,
        )
        flash("Задание не запущено: нет такого задания или Redis недоступен.", "error")
        return redirect(url_for("jobs.index"))
    audit(Event.JOB_TRIGGERED, object_type="job", object_id=j.id, name=name)
    flash(f"Задание поставлено в очередь: {j.id}.", "info")
    return redirect(url_for("jobs.job", job_id=j.id))


@bp.post("/<job_id>/retry")
@requires(Permission.JOBS_RUN)
def retry(job_id: str) -> Response:
    try:
        queues.retry(deps().redis, job_id)
    except (NoSuchJobError, InvalidJobOperation, RedisError) as exc:
        audit(
            Event.JOB_RETRIED,
            Outcome.FAILURE,
            object_type="job",
            object_id=job_id[:64],
            error=type(exc).__name__,
        )
        flash("Повтор не удался: задания нет среди неудавшихся.", "error")
        return redirect(url_for("jobs.index"))
    audit(Event.JOB_RETRIED, object_type="job", object_id=job_id[:64])
    flash(f"Задание {job_id} снова в очереди.", "info")
    return redirect(url_for("jobs.job", job_id=job_id))
