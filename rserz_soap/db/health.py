"""Is PostgreSQL answering: the database half of ``/healthz``."""

from __future__ import annotations

from sqlalchemy import Engine, text


def ping(engine: Engine) -> None:
    """One round trip; raises whatever the driver raises when the server does not answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
