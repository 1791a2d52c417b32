"""The exchange journal and the security log, with filters, newest first, in keyset pages."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import Blueprint, abort, render_template, request

from rserz_soap.admin.web import arg_date, arg_int, audit, day_start, deps, may, requires
from rserz_soap.db.security_log import EventFilter
from rserz_soap.domain.access import Event, Outcome, Permission
from rserz_soap.usecases import exchange_log, participants, security_log
from rserz_soap.usecases.exchange_log import JournalFilter

bp = Blueprint("journals", __name__)

PAGE = 50
OUTCOMES = ("ok", "fault", "error")


@bp.get("/journal")
@requires(Permission.EXCHANGE_JOURNAL)
def exchange() -> str:
    d = deps()
    a = request.args
    since, until = arg_date("since"), arg_date("until")
    correlation = None
    error = None
    if a.get("correlation"):
        try:
            correlation = uuid.UUID(a["correlation"].strip())
        except ValueError:
            error = "Идентификатор корреляции — UUID."
    flt = JournalFilter(
        participant_id=arg_int("participant"),
        peer=a.get("peer") or None,
        direction=a.get("direction") if a.get("direction") in ("in", "out") else None,
        service=a.get("service") or None,
        operation=(a.get("operation") or "").strip() or None,
        outcome=a.get("outcome") if a.get("outcome") in OUTCOMES else None,
        correlation_id=correlation,
        since=day_start(since),
        until=day_start(until + timedelta(days=1)) if until else None,
    )
    rows = [] if error else exchange_log.entries(d.reading(), flt, before=arg_int("before"), limit=PAGE + 1)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return render_template(
        "journal_list.html",
        rows=rows,
        args=a,
        error=error,
        outcomes=OUTCOMES,
        participants=participants.all_participants(d.reading()),
        next_before=rows[-1].id if rows and more else None,
    )


@bp.get("/journal/<int:row_id>")
@requires(Permission.EXCHANGE_JOURNAL)
def exchange_entry(row_id: int) -> str:
    row = exchange_log.entry(deps().reading(), row_id)
    if row is None:
        abort(404)
    show_body = row.has_body and may(Permission.EXCHANGE_BODIES)
    if show_body:
        audit(Event.EXCHANGE_BODY_VIEWED, object_type="exchange", object_id=row_id)
    return render_template("journal_entry.html", row=row, show_body=show_body)


@bp.get("/security")
@requires(Permission.SECURITY_LOG)
def security() -> str:
    d = deps()
    a = request.args
    since, until = arg_date("since"), arg_date("until")
    flt = EventFilter(
        login=a.get("login") or None,
        event=a.get("event") or None,
        outcome=a.get("outcome") if a.get("outcome") in {o.value for o in Outcome} else None,
        object_type=a.get("object_type") or None,
        object_id=(a.get("object_id") or "").strip() or None,
        since=day_start(since),
        until=day_start(until + timedelta(days=1)) if until else None,
    )
    rows = security_log.events(d.reading(), flt, before=arg_int("before"), limit=PAGE + 1)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return render_template(
        "security_log.html",
        rows=rows,
        args=a,
        logins=security_log.logins(d.reading()),
        events=[e.value for e in Event],
        outcomes=[o.value for o in Outcome],
        next_before=rows[-1].id if rows and more else None,
    )
