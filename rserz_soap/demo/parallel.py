"""Work split over processes, results in order, memory bounded: how large synthetic data is rendered."""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def in_order(
    tasks: Sequence[T],
    work: Callable[[T], R],
    *,
    workers: int,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...] = (),
) -> Iterator[R]:
    """``work(task)`` for every task, in task order; with ``workers`` processes at most ``2·workers`` results
    are in flight, so a caller writing them out never holds the whole data set. ``workers <= 0`` works
    inline. ``work`` and ``initializer`` are module-level functions (they are sent to spawned processes).
    """
    if workers <= 0:
        initializer(*initargs)
        for task in tasks:
            yield work(task)
        return
    # spawn, not fork: the parent holds open database connections that a forked child must never touch.
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=initializer, initargs=initargs) as pool:
        pending: deque[Any] = deque()
        queue = iter(tasks)
        for task in queue:
            pending.append(pool.apply_async(work, (task,)))
            if len(pending) >= 2 * workers:
                break
        while pending:
            result: R = pending.popleft().get()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append(pool.apply_async(work, (nxt,)))
            yield result
