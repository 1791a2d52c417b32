"""What the emulators' fault switches share: their JSON, their checks, the outage and latency, and the
cached ``FaultSwitch`` that keeps them in one row of the emulator's database (``store.switches_table``) so
that every emulator process sees the same ones; a process re-reads them at most every half second.

Each emulator declares its own switches as a frozen dataclass over ``Switches`` (and documents them):
its ``RATES`` are shares between 0 and 1, its ``NOT_NEGATIVE`` must not be below 0. A switch whose
default is None may be null in JSON; every other value is read as the type of its default (a float when
the default is None), ``outage_until`` as an ISO instant (UTC when it names no zone).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from dataclasses import asdict, fields
from typing import Any, ClassVar, Final, Generic, Self, TypeVar

from sqlalchemy import Engine, Table, func, select
from sqlalchemy.dialects.postgresql import insert

__all__ = ["CACHE_SECONDS", "FaultSwitch", "Switches", "draw"]

CACHE_SECONDS: Final = 0.5
_ROW_ID: Final = 1
_random = random.Random()  # noqa: S311 - simulated misbehaviour, not secrets
_random_lock = threading.Lock()


def draw(rate: float) -> bool:
    """True with probability ``rate``."""
    if rate <= 0:
        return False
    if rate >= 1:
        return True
    with _random_lock:
        return _random.random() < rate


class Switches:
    """The base of an emulator's ``Faults`` dataclass; the defaults mean a well-behaved service."""

    RATES: ClassVar[tuple[str, ...]] = ()
    NOT_NEGATIVE: ClassVar[tuple[str, ...]] = ("latency_ms",)

    latency_ms: int
    outage_until: dt.datetime | None

    def __post_init__(self) -> None:
        for name in self.NOT_NEGATIVE:
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        for name in self.RATES:
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        if self.outage_until is not None and self.outage_until.tzinfo is None:
            raise ValueError("outage_until must carry a time zone")

    def in_outage(self, now: dt.datetime | None = None) -> bool:
        now = now or dt.datetime.now(dt.UTC)
        return self.outage_until is not None and now < self.outage_until

    def wait_latency(self) -> None:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)  # type: ignore[call-overload]
        data["outage_until"] = self.outage_until.isoformat() if self.outage_until else None
        return dict(data)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Switches from JSON; unknown keys are an error (a typo must not silently switch nothing)."""
        if not isinstance(data, dict):
            raise ValueError("the fault switches are a JSON object")
        defaults: dict[str, Any] = {f.name: f.default for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(data) - set(defaults)
        if unknown:
            raise ValueError(f"unknown fault switches: {sorted(unknown)}; known: {sorted(defaults)}")
        values: dict[str, Any] = {}
        try:
            for name, value in data.items():
                if value is None:
                    if defaults[name] is not None:
                        raise ValueError(f"{name} must not be null")
                    values[name] = None
                elif name == "outage_until":
                    until = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
                    values[name] = until if until.tzinfo else until.replace(tzinfo=dt.UTC)
                elif defaults[name] is None:
                    values[name] = float(value)
                else:
                    values[name] = type(defaults[name])(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        return cls(**values)


F = TypeVar("F", bound=Switches)


class FaultSwitch(Generic[F]):
    """The switches of one emulator process, read from ``table`` (row 1) with a short cache."""

    def __init__(
        self, engine: Engine, table: Table, kind: type[F], *, cache_seconds: float = CACHE_SECONDS
    ) -> None:
        self.engine, self.table, self.kind = engine, table, kind
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: F = kind()
        self._read_at = float("-inf")

    def current(self) -> F:
        now = time.monotonic()
        with self._lock:
            if now - self._read_at < self.cache_seconds:
                return self._cached
        faults = self.read()
        with self._lock:
            self._cached, self._read_at = faults, time.monotonic()
        return faults

    def read(self) -> F:
        table = self.table
        with self.engine.connect() as conn:
            stored = conn.execute(select(table.c.switches).where(table.c.id == _ROW_ID)).scalar()
        return self.kind.from_json(stored) if stored is not None else self.kind()

    def replace(self, faults: F) -> None:
        stmt = insert(self.table).values(id=_ROW_ID, switches=faults.to_json())
        stmt = stmt.on_conflict_do_update(
            index_elements=[self.table.c.id],
            set_={"switches": stmt.excluded.switches, "updated_at": func.now()},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
        with self._lock:
            self._cached, self._read_at = faults, time.monotonic()
