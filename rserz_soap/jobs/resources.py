"""What one job run connects to: the register's database, and with it Redis for the jobs that talk to the
outside world (ФЕРЗЛ, СМЭВ: circuit breakers and status live there). A worker forks per job, so nothing
here outlives the run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from redis import Redis

from rserz_soap.config import Settings, load_settings
from rserz_soap.db.uow import Database
from rserz_soap.jobs.redis_conn import redis_from_url


@contextlib.contextmanager
def database(pool_size: int = 1) -> Iterator[Database]:
    """The register's database for one job run."""
    settings = load_settings()
    assert settings.database_url, "workers get RSERZ_DATABASE_URL from rserz up or the environment"
    db = Database.connect(settings.database_url, pool_size=pool_size)
    try:
        yield db
    finally:
        db.dispose()


@contextlib.contextmanager
def services(pool_size: int = 2) -> Iterator[tuple[Settings, Database, Redis]]:
    """Settings, the database and Redis for one job run."""
    settings = load_settings()
    assert settings.database_url and settings.redis_url, (
        "workers get their URLs from rserz up or the environment"
    )
    db = Database.connect(settings.database_url, pool_size=pool_size)
    redis = redis_from_url(settings.redis_url)
    try:
        yield settings, db, redis
    finally:
        db.dispose()
        redis.close()
