"""Buffer jobs: finish entries a crash left unprocessed, and publish the changes feed.

``submitOperations`` processes its records inside the request; if the process dies after receiving
them, the entries wait in state received. The scheduler runs :func:`drain` every minute on a worker, so
nothing accepted waits for a human. Several workers may run it together (SKIP LOCKED).
"""

from __future__ import annotations

import logging

from rserz_soap.config import load_settings
from rserz_soap.db import feed
from rserz_soap.db.engine import make_engine
from rserz_soap.registry.service import build_registry

log = logging.getLogger(__name__)


def drain(limit: int = 10_000) -> int:
    """Process every pending buffer entry (received, checked or accepted); returns how many."""
    settings = load_settings()
    assert settings.database_url, "workers get RSERZ_DATABASE_URL from rserz up or the environment"
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        done = build_registry(engine, settings).process_pending(limit)
    finally:
        engine.dispose()
    if done:
        log.info("buffer: processed %d pending entries", done)
    return done


def publish_feed() -> int:
    """Publish settled change-journal rows, so getChanges readers seldom have to do it themselves."""
    settings = load_settings()
    assert settings.database_url
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with engine.begin() as conn:
            return feed.publish(conn)
    finally:
        engine.dispose()
