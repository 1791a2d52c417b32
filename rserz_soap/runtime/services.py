"""Where PostgreSQL and Redis are: configured URLs, or embedded servers this process starts."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from rserz_soap.config import Settings
from rserz_soap.runtime.embedded import EmbeddedPostgres, EmbeddedRedis, postgres_running

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    redis_url: str
    embedded: bool


@contextlib.contextmanager
def running_services(settings: Settings) -> Iterator[ServiceUrls]:
    """Yield the URLs of PostgreSQL and Redis; embedded servers started here are stopped on exit.

    A server that was already running (another ``rserz`` process started it) is reused and left running,
    so ``rserz seed`` beside a running ``rserz up`` shares its databases.
    """
    pg: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    stop_pg = stop_redis = False
    try:
        if settings.database_url:
            db_url = settings.database_url
        else:
            pg = EmbeddedPostgres(settings.embedded_pg_dir)
            stop_pg = not postgres_running(pg.pgdata)
            db_url = pg.start()
        if settings.redis_url:
            redis_url = settings.redis_url
        else:
            redis = EmbeddedRedis(settings.embedded_redis_dir)
            redis_url = redis.start()
            stop_redis = redis.process is not None
        yield ServiceUrls(db_url, redis_url, embedded=pg is not None or redis is not None)
    finally:
        if redis is not None and stop_redis:
            redis.stop()
        if pg is not None and stop_pg:
            pg.stop()
