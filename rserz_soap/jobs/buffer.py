"""Buffer jobs: finish entries a crash left unprocessed, and publish the changes feed.

Entries received outside a request (a file intake, an agency list) wait in state received, and a process
can die between receiving and deciding them. The scheduler runs :func:`drain` every minute on a worker,
so nothing accepted waits for a human. Several workers may run it together (SKIP LOCKED).
"""

from __future__ import annotations

import logging

from rserz_soap.config import load_settings
from rserz_soap.jobs.resources import database
from rserz_soap.usecases import changes, intake
from rserz_soap.usecases.wiring import build_intake

log = logging.getLogger(__name__)


def drain(limit: int = 10_000) -> int:
    """Process every pending buffer entry (received, checked or accepted); returns how many."""
    settings = load_settings()
    with database() as db:
        done = intake.process_pending(db.unit_of_work(), build_intake(db.unit_of_work(), settings), limit)
    if done:
        log.info("buffer: processed %d pending entries", done)
    return done


def publish_feed() -> int:
    """Publish settled change-journal rows, so getChanges readers seldom have to do it themselves."""
    with database() as db:
        return changes.publish(db.unit_of_work())
