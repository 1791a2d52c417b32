"""The scheduled НСИ update: new directory versions from RSERZ_NSI_SOURCE, hourly, safe to repeat."""

from __future__ import annotations

import logging
import tempfile
from datetime import date
from pathlib import Path

from rserz_soap.config import load_settings
from rserz_soap.db.uow import Database
from rserz_soap.files.nsi import parse_nsi_file, update_files
from rserz_soap.jobs.resources import database
from rserz_soap.usecases import nsi

log = logging.getLogger(__name__)


def update_from(db: Database, source: str, today: date | None = None) -> nsi.UpdateReport:
    """Every file of ``source`` parsed first (one bad file refuses the update whole: NsiFormatError naming
    it), then all imported in one transaction; what each changed."""
    with tempfile.TemporaryDirectory(prefix="rserz-nsi-") as work:
        parsed = [parse_nsi_file(p) for p in update_files(source, Path(work))]
    return nsi.update(db.unit_of_work(), parsed, today or date.today())


def scheduled_update() -> str:
    """The hourly job: nothing to do when the source folder does not exist; the report as its result."""
    source = load_settings().nsi_update_source
    if not source.startswith(("http://", "https://")) and not Path(source).is_dir():
        return f"no НСИ source at {source}"
    with database() as db:
        report = update_from(db, source)
    lines = [d.summary() for d in report.directories]
    for line in lines:
        log.info("НСИ update: %s", line)
    return "\n".join(lines) or f"no directory files at {source}"
