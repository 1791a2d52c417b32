"""A few figures kept for a short while per process: the dashboard's counts over every insured person."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_values: dict[str, tuple[float, Any]] = {}


def cached(
    key: str, seconds: float, compute: Callable[[], T], *, now: Callable[[], float] = time.monotonic
) -> T:
    """The value computed under ``key`` within the last ``seconds``, or a new one."""
    with _lock:
        hit = _values.get(key)
    if hit is not None and now() - hit[0] < seconds:
        return hit[1]  # type: ignore[no-any-return]
    value = compute()
    with _lock:
        _values[key] = (now(), value)
    return value


def forget() -> None:
    with _lock:
        _values.clear()
