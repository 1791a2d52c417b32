"""The daily СМО packages: after midnight, yesterday's REPLIST/STOPLIST/RECLIST of every active СМО into
``RSERZ_EXPORTS_DIR/smo/<date>/``. A re-run writes the same bytes (the packages depend only on the day's
data); its last run is in ``rserz status`` and the console's jobs page."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from rserz_soap.config import load_settings
from rserz_soap.jobs.housekeeping import note_routine
from rserz_soap.jobs.resources import database
from rserz_soap.usecases import change_files

log = logging.getLogger(__name__)


def daily(day: str | None = None) -> str:
    """Write the packages of ``day`` (default: yesterday) for every active СМО."""
    settings = load_settings()
    when = date.fromisoformat(day) if day else date.today() - timedelta(days=1)
    try:
        with database() as db:
            done = change_files.export_day(
                db.reading, when, settings.exports_path / "smo", okato=settings.region_okato
            )
    except Exception as exc:
        note_routine("smo-files", ok=False, result=f"{when}: {exc}")
        raise
    result = f"{when}: {len(done)} packages, " + (
        ", ".join(f"{p.smo} {sum(p.counts.values())}" for p in done) or "no active СМО"
    )
    note_routine("smo-files", ok=True, result=result)
    log.info("daily СМО files %s", result)
    return result
