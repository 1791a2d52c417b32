"""The dashboard: the register's size, the day's work, what waits, how the links and queues stand."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template
from markupsafe import Markup

from rserz_soap.admin import status, svg
from rserz_soap.admin.cache import cached
from rserz_soap.admin.web import deps, requires
from rserz_soap.domain.access import Permission
from rserz_soap.usecases import overview

bp = Blueprint("dashboard", __name__)

#: seconds the counts over every insured person are kept (one scan of the current rows per process)
HEAVY_SECONDS = 300


@bp.get("/")
@requires(Permission.DASHBOARD)
def index() -> str:
    d = deps()
    today = date.today()
    insured = cached(f"insured:{today}", HEAVY_SECONDS, lambda: overview.insured(d.reading(), today))
    per_day = cached(f"per-day:{today}", 60, lambda: overview.changes_per_day(d.reading(), 30))
    return render_template(
        "dashboard.html",
        insured=insured,
        per_day=per_day,
        chart=Markup(svg.bars(per_day, title="Изменения регистра по дням, 30 дней")),  # noqa: S704 (our own SVG, values escaped)
        backlog=overview.backlog(d.reading()),
        peers=overview.peers(d.reading()),
        federal=overview.federal_work(d.reading()),
        breakers={
            "ferzl": status.ferzl_breaker(d.redis, d.settings),
            "smev": status.smev_breaker(d.redis, d.settings),
        },
        breaker_titles=status.BREAKER_TITLES,
        machinery=status.machinery(d.redis),
        settings=d.settings,
    )
