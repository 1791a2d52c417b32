"""Where the hub's links and queues stand, from what exists outside the database: Redis and RQ.

Small functions, each answering one question, so that a new outside system (СМЭВ 3) or a new breaker is
one more call here and one more row on the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, StartedJobRegistry

from rserz_soap.config import Settings
from rserz_soap.jobs import queues
from rserz_soap.jobs.housekeeping import HEARTBEAT_KEY

BREAKER_TITLES = {
    "closed": "замкнут (вызовы идут)",
    "open": "разомкнут (вызовы не идут)",
    "half-open": "пробный вызов",
}


@dataclass(frozen=True)
class QueueDepth:
    name: str
    waiting: int
    running: int
    failed: int


@dataclass(frozen=True)
class Machinery:
    queues: list[QueueDepth]
    workers: list[str]
    heartbeat: str | None
    error: str | None = None


def breaker_state(redis: Any, name: str) -> str | None:
    """The state pybreaker keeps in Redis for the breaker ``name`` (``closed``/``open``/``half-open``);
    None when no call has made one yet or Redis cannot say."""
    try:
        raw = redis.get(f"rserz:breaker:{name}:pybreaker:state")
    except RedisError:
        return None
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def ferzl_breaker(redis: Any, settings: Settings) -> str | None:
    """The ФЕРЗЛ client's breaker is named after its endpoint (``federal/client.make_breaker``)."""
    return breaker_state(redis, settings.ferzl_endpoint)


def smev_breaker(redis: Any, settings: Settings) -> str | None:
    """СМЭВ 3's breaker, once the СМЭВ client has one (named ``smev``); None until then."""
    return breaker_state(redis, "smev")


def machinery(redis: Any) -> Machinery:
    """Queue depths, running and failed jobs, live workers, the scheduler's last heartbeat."""
    try:
        depths = []
        for name in queues.ALL:
            q = Queue(name, connection=redis)
            depths.append(
                QueueDepth(
                    name,
                    q.count,
                    StartedJobRegistry(name, connection=redis).count,
                    FailedJobRegistry(name, connection=redis).count,
                )
            )
        workers = sorted(w.name for w in Worker.all(connection=redis))
        beat = redis.hget(HEARTBEAT_KEY, "at")
        heartbeat = beat.decode() if isinstance(beat, bytes) else beat
        return Machinery(depths, workers, _when(heartbeat))
    except RedisError as exc:
        return Machinery([], [], None, f"Redis недоступен: {type(exc).__name__}")


def _when(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%d.%m.%Y %H:%M:%S")
    except ValueError:
        return iso
