"""Liveness of what every request needs: PostgreSQL (and its replica, if configured), Redis, trust."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis

from rserz_soap.db.health import ping
from rserz_soap.db.uow import Database
from rserz_soap.soap.security import TrustHealth


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    latency_ms: float
    error: str | None = None


def check_postgres(db: Database) -> Check:
    return _ping("postgres", db.engine)


def check_replica(db: Database) -> Check | None:
    """The replica identification reads from, when one is configured (None otherwise)."""
    return _ping("postgres_replica", db.replica) if db.replica is not None else None


def _ping(name: str, engine: Any) -> Check:
    started = time.perf_counter()
    try:
        ping(engine)
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", reported with its class
        return Check(name, False, _ms(started), type(exc).__name__)
    return Check(name, True, _ms(started))


def check_trust(state: TrustHealth) -> Check:
    """Not healthy while the trust store refuses every request (a CRL missing or broken); a stale CRL is
    reported but still healthy: the CA has not published, the hub still checks the list it has."""
    return Check(
        "trust",
        state.state != "broken",
        0.0,
        None if state.state == "ok" else f"{state.state}: {state.detail}",
    )


def check_redis(client: redis.Redis) -> Check:
    started = time.perf_counter()
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        return Check("redis", False, _ms(started), type(exc).__name__)
    return Check("redis", True, _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
