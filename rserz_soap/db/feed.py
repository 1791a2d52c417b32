"""The changes feed: the change journal published in an order no reader can overtake.

``change_journal.seq`` is assigned when a row is inserted, but transactions commit in any order, so a
reader following ``seq`` could pass a number whose transaction commits later and never see that row. A
row is therefore *published* — given the next ``feed_seq`` — only when every transaction older than its
own has ended (``xid < pg_snapshot_xmin(pg_current_snapshot())``); publication runs under one advisory lock
and numbers rows in ``seq`` order. A reader that resumes after the last ``feed_seq`` it saw can neither
skip nor repeat a change. Publishing is done by readers as they come (and could be a scheduled job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, text

PUBLISH_LOCK = 0x52_53_45_52_5A_46  # "RSERZF": one publisher at a time
MAX_PUBLISH = 50_000  # per call: the first call after a bulk load publishes in slices

_PUBLISH = text(
    "WITH todo AS (SELECT seq, row_number() OVER (ORDER BY seq) AS rn FROM change_journal"
    " WHERE feed_seq IS NULL AND xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY seq LIMIT :n),"
    " base AS (SELECT coalesce(max(feed_seq), 0) AS b FROM change_journal)"
    " UPDATE change_journal c SET feed_seq = base.b + todo.rn FROM todo, base WHERE c.seq = todo.seq"
)


def publish(conn: Connection, max_rows: int = MAX_PUBLISH) -> int:
    """Publish the rows whose transactions are settled; returns how many (caller commits)."""
    if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PUBLISH_LOCK}).scalar():
        return 0  # another reader is publishing right now; what it publishes is visible after its commit
    return int(conn.execute(_PUBLISH, {"n": max_rows}).rowcount or 0)


@dataclass(frozen=True)
class FeedEntry:
    feed_seq: int
    enp: str
    operation: str
    valid_from: date
    recorded_at: datetime
    smo_code: str | None
    mo_codes: tuple[str, ...]
    person_id: int = 0


def read(conn: Connection, after: int, limit: int, *, kind: str, code: str) -> tuple[list[FeedEntry], bool]:
    """Published changes after ``after`` visible to the caller, and whether more are waiting.

    An СМО sees changes of persons it insures after the change and the stop of its own insurance; an МО
    sees changes of persons attached to it; the ИСЗЛ and ТФОМС see everything.
    """
    visible = {
        "smo": " AND (j.smo_code = :code OR EXISTS (SELECT 1 FROM stop_list_entry s WHERE s.version_id = j.version_id"
        " AND s.smo_code = :code))",
        "mo": " AND (' ' || coalesce(j.mo_codes, '') || ' ') LIKE '% ' || :code || ' %'",
    }.get(kind, "")
    rows = conn.execute(
        text(
            "SELECT j.feed_seq, p.main_enp, j.operation, v.valid_from, j.recorded_at, j.smo_code, j.mo_codes,"
            " j.person_id"
            " FROM change_journal j JOIN person p ON p.id = j.person_id"
            " LEFT JOIN person_version v ON v.id = j.version_id"
            " WHERE j.feed_seq > :after" + visible + " ORDER BY j.feed_seq LIMIT :lim"
        ),
        {"after": after, "lim": limit + 1, "code": code},
    ).all()
    entries = [
        FeedEntry(
            r.feed_seq,
            r.main_enp,
            r.operation,
            r.valid_from or r.recorded_at.date(),
            r.recorded_at,
            r.smo_code,
            tuple((r.mo_codes or "").split()),
            r.person_id,
        )
        for r in rows[:limit]
    ]
    return entries, len(rows) > limit


def last_published(conn: Connection) -> int:
    return int(conn.execute(text("SELECT coalesce(max(feed_seq), 0) FROM change_journal")).scalar_one())


class Feed:
    """The changes feed inside one unit of work."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def publish(self, max_rows: int = MAX_PUBLISH) -> int:
        return publish(self._conn, max_rows)

    def read(self, after: int, limit: int, *, kind: str, code: str) -> tuple[list[FeedEntry], bool]:
        return read(self._conn, after, limit, kind=kind, code=code)

    def last_published(self) -> int:
        return last_published(self._conn)
