"""The changes feed as a participant reads it: published changes after its cursor, visible to it."""

from __future__ import annotations

from dataclasses import dataclass

from rserz_soap.db.feed import FeedEntry
from rserz_soap.db.uow import UnitOfWork

__all__ = ["ChangesPage", "FeedEntry", "changes", "publish"]


@dataclass(frozen=True)
class ChangesPage:
    entries: list[FeedEntry]
    more: bool
    next_seq: int  # where the reader resumes


def publish(uow: UnitOfWork) -> int:
    """Publish the change-journal rows whose transactions are settled; returns how many."""
    with uow:
        return uow.feed.publish()


def changes(uow: UnitOfWork, after: int, limit: int, *, kind: str, code: str) -> ChangesPage:
    publish(uow)
    with uow:
        entries, more = uow.feed.read(after, limit, kind=kind, code=code)
        # nothing visible after the cursor: every published change up to the last one was looked at
        next_seq = entries[-1].feed_seq if entries else max(after, uow.feed.last_published())
    return ChangesPage(entries, more, next_seq)
