"""Monthly snapshots: the state at 00:00 on the 1st is published on the 1st (and caught up after), and
exported as the FFOMS-style XML and the attachment-list CSV under ``RSERZ_EXPORTS_DIR/snapshots``.

The scheduler runs the job at 00:00 on the 1st and hourly after (a scheduler that was down at midnight
catches up). Re-running it is harmless: a published day is returned unchanged, and an export whose
manifest matches the snapshot and whose bytes are intact is not written again.
"""

from __future__ import annotations

import logging
from datetime import date

from rserz_soap.config import load_settings
from rserz_soap.jobs.housekeeping import note_routine
from rserz_soap.jobs.resources import database
from rserz_soap.usecases import snapshots

log = logging.getLogger(__name__)

ACTOR = "scheduler"


def publish_due(today: str | None = None) -> str:
    """Publish the snapshot of the 1st of the current month and export it; returns its checksum."""
    settings = load_settings()
    day = (date.fromisoformat(today) if today else date.today()).replace(day=1)
    try:
        with database() as db:
            info = snapshots.publish(db.unit_of_work(), day, actor=ACTOR)
            written = snapshots.export_all(
                db, day, ("xml", "csv"), settings.exports_path / "snapshots", okato=settings.region_okato
            )
    except Exception as exc:
        note_routine("snapshot", ok=False, result=f"{day}: {exc}")
        raise
    files = ", ".join(f"{w.path.name}{'' if w.written else ' (kept)'}" for w in written)
    note_routine("snapshot", ok=True, result=f"{day}: {info.persons} persons; {files}")
    log.info("snapshot of %s: %d persons, checksum %s; %s", info.day, info.persons, info.checksum, files)
    return str(info.checksum)
