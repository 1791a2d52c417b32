"""Fault switches of the ФЕРЗЛ emulator: the misbehaviour of a real federal service, on demand.

The switches live in the emulator's database (``fed_fault``, one row) so that every emulator process
sees the same ones; a process re-reads them at most every half second. Tests and stand operators set
them through ``PUT /ferzl/_control/faults``:

* ``latency_ms`` — every answer waits that long;
* ``error_rate`` — that share of requests gets a SOAP Fault ``MPI-500`` (HTTP 500);
* ``timeout_rate`` with ``hang_seconds`` — that share waits ``hang_seconds`` before answering, so a
  client with a shorter operation timeout gives up;
* ``outage_until`` — until then every SOAP request gets HTTP 503 with a plain-text body, no SOAP at all;
* ``duplicate_rate`` — getInsuranceStatusChanges repeats that share of its changes and
  getReconciliationResult that share of its persons (the client must de-duplicate).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Any, Final

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert

from rserz_soap.emulators.ferzl.store import fed_fault

__all__ = ["CACHE_SECONDS", "FaultSwitch", "Faults"]

CACHE_SECONDS: Final = 0.5
_ROW_ID: Final = 1
_random = random.Random()  # noqa: S311 - simulated misbehaviour, not secrets
_random_lock = threading.Lock()


def _rate(name: str, value: Any) -> float:
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return rate


@dataclass(frozen=True)
class Faults:
    """The switches; the defaults mean a well-behaved service."""

    latency_ms: int = 0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_seconds: float = 60.0
    outage_until: dt.datetime | None = None
    duplicate_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if self.hang_seconds < 0:
            raise ValueError("hang_seconds must not be negative")
        for name in ("error_rate", "timeout_rate", "duplicate_rate"):
            _rate(name, getattr(self, name))
        if self.outage_until is not None and self.outage_until.tzinfo is None:
            raise ValueError("outage_until must carry a time zone")

    def in_outage(self, now: dt.datetime | None = None) -> bool:
        now = now or dt.datetime.now(dt.UTC)
        return self.outage_until is not None and now < self.outage_until

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["outage_until"] = self.outage_until.isoformat() if self.outage_until else None
        return data

    @classmethod
    def from_json(cls, data: Any) -> Faults:
        """Switches from JSON; unknown keys are an error (a typo must not silently switch nothing)."""
        if not isinstance(data, dict):
            raise ValueError("the fault switches are a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault switches: {sorted(unknown)}; known: {sorted(known)}")
        values: dict[str, Any] = {}
        try:
            for name, value in data.items():
                if value is None:
                    if name != "outage_until":
                        raise ValueError(f"{name} must not be null")
                    values[name] = None
                elif name == "latency_ms":
                    values[name] = int(value)
                elif name == "outage_until":
                    until = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
                    values[name] = until if until.tzinfo else until.replace(tzinfo=dt.UTC)
                else:
                    values[name] = float(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        return cls(**values)


def draw(rate: float) -> bool:
    """True with probability ``rate``."""
    if rate <= 0:
        return False
    if rate >= 1:
        return True
    with _random_lock:
        return _random.random() < rate


class FaultSwitch:
    """The switches of one emulator process, read from the database with a short cache."""

    def __init__(self, engine: Engine, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: Faults = Faults()
        self._read_at = float("-inf")

    def current(self) -> Faults:
        now = time.monotonic()
        with self._lock:
            if now - self._read_at < self.cache_seconds:
                return self._cached
        faults = self.read()
        with self._lock:
            self._cached, self._read_at = faults, time.monotonic()
        return faults

    def read(self) -> Faults:
        with self.engine.connect() as conn:
            stored = conn.execute(select(fed_fault.c.switches).where(fed_fault.c.id == _ROW_ID)).scalar()
        return Faults.from_json(stored) if stored is not None else Faults()

    def replace(self, faults: Faults) -> None:
        stmt = insert(fed_fault).values(id=_ROW_ID, switches=faults.to_json())
        stmt = stmt.on_conflict_do_update(
            index_elements=[fed_fault.c.id],
            set_={"switches": stmt.excluded.switches, "updated_at": func.now()},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
        with self._lock:
            self._cached, self._read_at = faults, time.monotonic()
