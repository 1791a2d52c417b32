"""Monthly snapshots: the state at 00:00 on the 1st is published on the 1st (and caught up after).

The job runs hourly and publishes the current month's snapshot if it is not published yet, so a
scheduler that was down at midnight catches up; publishing a published day changes nothing.
"""

from __future__ import annotations

import logging
from datetime import date

from rserz_soap.jobs.buffer import database
from rserz_soap.usecases import snapshots

log = logging.getLogger(__name__)

ACTOR = "scheduler"


def publish_due(today: str | None = None) -> str:
    """Publish the snapshot of the 1st of the current month; returns its checksum."""
    day = (date.fromisoformat(today) if today else date.today()).replace(day=1)
    with database() as db:
        info = snapshots.publish(db.unit_of_work(), day, actor=ACTOR)
    log.info("snapshot of %s: %d persons, checksum %s", info.day, info.persons, info.checksum)
    return str(info.checksum)
