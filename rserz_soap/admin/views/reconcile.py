"""Reconciliation with ФЕРЗЛ: start a run (the worker drives it), follow it, read and export its report."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from werkzeug.wrappers import Response as WerkzeugResponse

from rserz_soap.admin import exports
from rserz_soap.admin.forms import FormError, parse_date, text
from rserz_soap.admin.web import arg_int, audit, deps, requires, who
from rserz_soap.domain.access import Event, Outcome, Permission
from rserz_soap.usecases import reconcile

bp = Blueprint("reconcile", __name__, url_prefix="/reconcile")

PAGE = 100
CATEGORIES = ("missing_regionally", "missing_federally", "differs", "accepted_deviation")
RESOLUTIONS = ("applied", "review", "reported", "pinned")


@bp.get("/")
@requires(Permission.RECONCILE_VIEW)
def index() -> str:
    d = deps()
    return render_template(
        "reconcile_list.html",
        runs=reconcile.runs(d.reading(), limit=50),
        default_policy=d.settings.reconcile_policy,
    )


@bp.post("/")
@requires(Permission.RECONCILE_RUN)
def start() -> WerkzeugResponse:
    d = deps()
    form = request.form
    try:
        flt = reconcile.Filter(
            text(form, "smo"), text(form, "mo"), parse_date(text(form, "since"), "Изменённые с")
        )
    except FormError as exc:
        flash(str(exc), "error")
        return redirect(url_for("reconcile.index"))
    policy = form.get("policy") or d.settings.reconcile_policy
    if policy not in reconcile.POLICIES:
        flash("Неизвестная политика сверки.", "error")
        return redirect(url_for("reconcile.index"))
    run_id = reconcile.Reconciler(d.uow(), _NO_CALLS, d.settings.region_okato).start(
        flt, policy=policy, actor=who().actor
    )
    audit(
        Event.RECONCILE_STARTED,
        object_type="reconciliation",
        object_id=run_id,
        filter=flt.to_json(),
        policy=policy,
    )
    try:
        from rserz_soap.jobs.federal import enqueue_reconciliation

        job = enqueue_reconciliation(d.redis, run_id)
        flash(f"Сверка № {run_id} поставлена в очередь (задание {job.id}).", "info")
    except (RedisError, OSError) as exc:  # Redis down: the run exists; the scheduler resumes stale runs
        flash(
            f"Сверка № {run_id} создана, но не поставлена в очередь ({type(exc).__name__}); её подхватит планировщик.",
            "error",
        )
    return redirect(url_for("reconcile.run", run_id=run_id))


@bp.get("/<int:run_id>")
@requires(Permission.RECONCILE_VIEW)
def run(run_id: int) -> str:
    d = deps()
    try:
        progress = reconcile.progress(d.reading(), run_id)
    except Exception:  # noqa: BLE001 — an unknown run id
        abort(404)
    flt = _filters()
    page = reconcile.report_page(d.reading(), run_id, **flt, after=arg_int("after"), limit=PAGE)
    return render_template(
        "reconcile_run.html",
        p=progress,
        items=page.items,
        flt=flt,
        categories=CATEGORIES,
        resolutions=RESOLUTIONS,
        fields=reconcile.FIELDS,
        next_after=page.next_after,
    )


@bp.post("/<int:run_id>/cancel")
@requires(Permission.RECONCILE_RUN)
def cancel(run_id: int) -> WerkzeugResponse:
    d = deps()
    reconcile.Reconciler(d.uow(), _NO_CALLS, d.settings.region_okato).cancel(run_id, actor=who().actor)
    audit(Event.RECONCILE_CANCELLED, object_type="reconciliation", object_id=run_id)
    flash(f"Сверка № {run_id} остановится после текущей пачки.", "info")
    return redirect(url_for("reconcile.run", run_id=run_id))


@bp.get("/<int:run_id>/report.<fmt>")
@requires(Permission.RECONCILE_VIEW, Permission.RECONCILE_EXPORT)
def export(run_id: int, fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    d = deps()
    flt = _filters()

    def pages() -> exports.Rows:
        after: int | None = None
        while True:
            page = reconcile.report_page(d.reading(), run_id, **flt, after=after, limit=5000)
            for item in page.items:
                yield (
                    item.enp,
                    item.category,
                    item.field,
                    item.regional or "",
                    item.federal or "",
                    item.resolution or "",
                )
            if page.next_after is None:
                return
            after = page.next_after

    header = ("ЕНП", "категория", "поле", "в регионе", "в ФЕРЗЛ", "решение")
    audit(
        Event.EXPORTED,
        Outcome.SUCCESS,
        object_type="reconciliation",
        object_id=run_id,
        format=fmt,
        filter=flt,
    )
    name = f"reconciliation-{run_id}"
    return exports.respond(fmt, name, header, pages())


def _filters() -> dict[str, str | None]:
    a = request.args
    return {
        "category": a.get("category") if a.get("category") in CATEGORIES else None,
        "field": a.get("field") if a.get("field") in (*reconcile.FIELDS, "*") else None,
        "resolution": a.get("resolution") if a.get("resolution") in RESOLUTIONS else None,
    }


class _NoCalls:
    """Starting and cancelling a run only write its row: no federal call is made (the worker makes them)."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(f"the console does not call ФЕРЗЛ to {name}")


_NO_CALLS = cast(reconcile.VitrinaPort, _NoCalls())
