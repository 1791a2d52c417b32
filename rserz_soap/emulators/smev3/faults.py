"""Fault switches of the СМЭВ 3 emulator (``PUT /smev3/_control/faults``), shared through its database.

* ``latency_ms`` — every answer waits that long;
* ``error_rate`` — that share of requests gets ``SMEVFailure`` (a server fault: try again later);
* ``outage_until`` — until then every SOAP request gets HTTP 503 with a plain-text body;
* ``duplicate_rate`` — that share of acknowledged messages is delivered once more (the client must
  recognise it by its MessageID);
* ``strict_signatures`` — off: a request whose signature does not hold is served anyway (logged), for
  an integrator who wants to see the rest of the exchange first;
* ``redelivery_seconds`` — a delivered message not acknowledged for that long is delivered again
  (default ``RSERZ_SMEV_REDELIVERY``).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Any, Final

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert

from rserz_soap.emulators.ferzl.faults import draw
from rserz_soap.emulators.smev3.store import mx_fault

__all__ = ["FaultSwitch", "Faults", "draw"]

CACHE_SECONDS: Final = 0.5


@dataclass(frozen=True)
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    outage_until: dt.datetime | None = None
    duplicate_rate: float = 0.0
    strict_signatures: bool = True
    redelivery_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        for name in ("error_rate", "duplicate_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.redelivery_seconds is not None and self.redelivery_seconds < 0:
            raise ValueError("redelivery_seconds must not be negative")

    def in_outage(self) -> bool:
        return self.outage_until is not None and dt.datetime.now(dt.UTC) < self.outage_until

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["outage_until"] = self.outage_until.isoformat() if self.outage_until else None
        return data

    @classmethod
    def from_json(cls, data: Any) -> Faults:
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
                    if name not in ("outage_until", "redelivery_seconds"):
                        raise ValueError(f"{name} must not be null")
                    values[name] = None
                elif name == "latency_ms":
                    values[name] = int(value)
                elif name == "strict_signatures":
                    values[name] = bool(value)
                elif name == "outage_until":
                    until = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
                    values[name] = until if until.tzinfo else until.replace(tzinfo=dt.UTC)
                else:
                    values[name] = float(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        return cls(**values)


class FaultSwitch:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._cached = Faults()
        self._read_at = float("-inf")

    def current(self) -> Faults:
        with self._lock:
            if time.monotonic() - self._read_at < CACHE_SECONDS:
                return self._cached
        faults = self.read()
        with self._lock:
            self._cached, self._read_at = faults, time.monotonic()
        return faults

    def read(self) -> Faults:
        with self.engine.connect() as conn:
            stored = conn.execute(select(mx_fault.c.switches).where(mx_fault.c.id == 1)).scalar()
        return Faults.from_json(stored) if stored is not None else Faults()

    def replace(self, faults: Faults) -> None:
        stmt = insert(mx_fault).values(id=1, switches=faults.to_json())
        stmt = stmt.on_conflict_do_update(
            index_elements=[mx_fault.c.id],
            set_={"switches": stmt.excluded.switches, "updated_at": func.now()},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
        with self._lock:
            self._cached, self._read_at = faults, time.monotonic()
