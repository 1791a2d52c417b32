"""Engines: one per process, created from a URL, always the psycopg 3 driver."""

from __future__ import annotations

import functools

from sqlalchemy import Engine, TextClause, create_engine, text
from sqlalchemy.engine import make_url


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` URLs as operators write them; use psycopg 3."""
    u = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    if u.drivername in ("postgresql", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def make_engine(
    url: str,
    *,
    pool_size: int = 5,
    application_name: str = "rserz",
    pre_ping: bool = True,
    autocommit: bool = False,
) -> Engine:
    """``pre_ping=False`` saves a round trip per checkout on hot request paths; connections are recycled
    after 30 minutes instead, and a connection broken by a database restart fails one request.

    ``autocommit=True``: every connection of the pool is in autocommit from the start, so a checkout
    neither switches it there nor back on return (``Engine.execution_options(isolation_level=…)`` does both
    for every checkout) — the pool of :meth:`Database.reading` in the long-lived processes."""
    return create_engine(
        normalize_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        connect_args={"application_name": application_name, "connect_timeout": 10},
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
    )


@functools.lru_cache(maxsize=256)
def statement(sql: str) -> TextClause:
    """One ``text()`` per statement text: building it parses the statement for its parameters every time
    (statements the repositories compose at run time from a few shapes)."""
    return text(sql)
