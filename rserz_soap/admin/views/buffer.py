"""The buffer: held changes with filters, one change beside the register and ФЕРЗЛ, decisions one by one
or in bulk (``usecases/review.py``; each decision its own transaction, with its line in the security log)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from rserz_soap.admin.forms import text
from rserz_soap.admin.web import arg_date, arg_int, audit, day_start, deps, requires, who
from rserz_soap.db.buffer import EntryFilter
from rserz_soap.domain.access import Event, Outcome, Permission
from rserz_soap.domain.buffer import State
from rserz_soap.domain.records import Op
from rserz_soap.usecases import participants, review, security_log
from rserz_soap.usecases.review import NotAwaitingReview

bp = Blueprint("buffer", __name__, url_prefix="/buffer")

PAGE = 50
BULK_MAX = 200


@bp.get("/")
@requires(Permission.BUFFER_VIEW)
def index() -> str:
    d = deps()
    state = request.args.get("state", State.AWAITING_REVIEW.value)
    states = (State(state),) if state in {s.value for s in State} else ()
    since, until = arg_date("since"), arg_date("until")
    flt = EntryFilter(
        states=states,
        participant_id=arg_int("participant"),
        tip_op=request.args.get("op") or None,
        since=day_start(since),
        until=day_start(until + timedelta(days=1)) if until else None,
        person_id=arg_int("person"),
    )
    rows = review.queue(d.reading(), flt, before=arg_int("before"), limit=PAGE + 1)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return render_template(
        "buffer_list.html",
        rows=rows,
        more=more,
        state=state,
        states=[s.value for s in State],
        ops=[o.value for o in Op],
        participants=participants.all_participants(d.reading()),
        args=request.args,
        next_before=rows[-1].id if rows and more else None,
    )


@bp.get("/<int:entry_id>")
@requires(Permission.BUFFER_VIEW)
def entry(entry_id: int) -> str:
    view = review.entry(deps().reading(), entry_id)
    if view is None:
        abort(404)
    audit(
        Event.BUFFER_VIEWED,
        object_type="buffer_entry",
        object_id=entry_id,
        person=view.current.person_id if view.current else None,
    )
    return render_template("buffer_entry.html", view=view, e=view.entry, record=view.entry.record)


@bp.post("/<int:entry_id>/decide")
@requires(Permission.BUFFER_DECIDE)
def decide(entry_id: int) -> Response:
    decision = request.form.get("decision")
    reason = text(request.form, "reason")
    if decision not in ("accept", "reject") or not reason:
        flash("Решение требует основания.", "error")
        return redirect(url_for("buffer.entry", entry_id=entry_id))
    ok, message = _decide(entry_id, decision, reason)
    flash(message, "info" if ok else "error")
    return redirect(url_for("buffer.entry", entry_id=entry_id))


@bp.post("/bulk")
@requires(Permission.BUFFER_DECIDE)
def bulk() -> Response:
    decision = request.form.get("decision")
    reason = text(request.form, "reason")
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()][:BULK_MAX]
    back = request.form.get("back") or url_for("buffer.index")
    if not back.startswith(request.script_root + "/buffer"):
        back = url_for("buffer.index")
    if decision not in ("accept", "reject") or not reason or not ids:
        flash("Отметьте записи, выберите решение и укажите основание.", "error")
        return redirect(back)
    done, failed = 0, []
    for entry_id in ids:
        ok, message = _decide(entry_id, decision, reason, bulk=True)
        if ok:
            done += 1
        else:
            failed.append(f"№ {entry_id}: {message}")
    flash(f"{'Принято' if decision == 'accept' else 'Отклонено'}: {done} из {len(ids)}.", "info")
    for line in failed[:10]:
        flash(line, "error")
    return redirect(back)


def _decide(entry_id: int, decision: str, reason: str, *, bulk: bool = False) -> tuple[bool, str]:
    """One decision through the review use case, in one transaction with its line in the security log."""
    d = deps()
    uow = d.uow()
    try:
        with uow:
            if decision == "accept":
                result = review.accept(uow, d.the_intake(), entry_id, actor=who().actor, reason=reason)
            else:
                result = review.reject(uow, entry_id, actor=who().actor, reason=reason)
            security_log.record(
                uow,
                who(),
                Event.BUFFER_DECIDED,
                object_type="buffer_entry",
                object_id=entry_id,
                details={
                    "decision": decision,
                    "state": result.state.value,
                    "code_erp": result.code_erp,
                    "person": result.person_id,
                    "bulk": bulk,
                },
            )
    except (NotAwaitingReview, LookupError) as exc:
        audit(
            Event.BUFFER_DECIDED,
            Outcome.FAILURE,
            object_type="buffer_entry",
            object_id=entry_id,
            decision=decision,
            error=type(exc).__name__,
        )
        return False, "запись не ждёт решения" if isinstance(exc, NotAwaitingReview) else "нет такой записи"
    state = result.state.value
    from rserz_soap.admin.presentation import BUFFER_STATE_TITLES

    return True, f"Запись № {entry_id}: {BUFFER_STATE_TITLES.get(state, state)}. {result.comment}"
