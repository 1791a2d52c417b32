"""The figures of the console's dashboard: how many are insured, what changed, what waits, how the links are.

Each figure is one statement on an index. The two that read every insured person (by СМО, by МО) scan
the partial indexes over current rows — a few hundred milliseconds on a million persons — so the console
keeps them for a few minutes (``admin/cache.py``); the rest are cheap and read fresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class PeerStatus:
    """An outside system as the exchange journal's outbound rows show it."""

    peer: str
    last_success: datetime | None
    last_failure: datetime | None
    last_error: str | None
    calls_24h: int
    failures_24h: int


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    oldest: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class FederalWork:
    outbox: OutboxStatus
    last_sync_day: date | None
    running_reconciliations: int


class Overview:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def insured_by_smo(self, on: date) -> dict[str, int]:
        """Persons with insurance in force on ``on``, by СМО (the snapshot's rule, on current rows).

        ``count(*)``, not ``count(DISTINCT person_id)``: a person has at most one period in force on a day (a
        change of СМО stops the old period the day the new one starts), and the distinct count costs five
        times as much on a million persons (4.2 s against 0.8 s)."""
        rows = self._conn.execute(
            text(
                "SELECT smo_code, count(*) FROM insurance_period"
                " WHERE superseded_at IS NULL AND dbeg <= :d AND (dstop IS NULL OR dstop > :d)"
                " AND (dend IS NULL OR dend >= :d) GROUP BY smo_code"
            ),
            {"d": on},
        )
        return {str(k): int(v) for k, v in rows}

    def attached_by_mo(self, on: date) -> dict[str, int]:
        """Attachments in force on ``on``, by МО (one per person and area type; 0.25 s on a million persons)."""
        rows = self._conn.execute(
            text(
                "SELECT mo_code, count(*) FROM attachment"
                " WHERE superseded_at IS NULL AND date_in <= :d AND (date_out IS NULL OR date_out > :d)"
                " GROUP BY mo_code"
            ),
            {"d": on},
        )
        return {str(k): int(v) for k, v in rows}

    def changes_per_day(self, days: int) -> list[tuple[date, int]]:
        """Versions written per day (the change journal), the last ``days`` days, oldest first."""
        rows = self._conn.execute(
            text(
                "SELECT d::date, coalesce(c.n, 0) FROM generate_series(current_date - (:n - 1), current_date,"
                " interval '1 day') d LEFT JOIN (SELECT recorded_at::date AS day, count(*) AS n FROM change_journal"
                " WHERE recorded_at >= current_date - (:n - 1) GROUP BY 1) c ON c.day = d::date ORDER BY 1"
            ),
            {"n": days},
        )
        return [(r[0], int(r[1])) for r in rows]

    def buffer_backlog(self) -> dict[str, tuple[int, datetime | None]]:
        """Entries not yet final, by state, with the oldest one's arrival."""
        rows = self._conn.execute(
            text(
                "SELECT state, count(*), min(received_at) FROM buffer_entry"
                " WHERE state IN ('received', 'checked', 'awaiting_review', 'accepted', 'awaiting_federal')"
                " GROUP BY state"
            )
        )
        return {str(r[0]): (int(r[1]), r[2]) for r in rows}

    def peer(self, peer: str) -> PeerStatus:
        row = self._conn.execute(
            text(
                "SELECT (SELECT max(started_at) FROM exchange_journal WHERE direction = 'out' AND peer = :p"
                " AND outcome = 'ok' AND started_at > now() - interval '30 days'),"
                " (SELECT max(started_at) FROM exchange_journal WHERE direction = 'out' AND peer = :p"
                " AND outcome <> 'ok' AND started_at > now() - interval '30 days'),"
                " (SELECT error_code FROM exchange_journal WHERE direction = 'out' AND peer = :p"
                " AND outcome <> 'ok' AND started_at > now() - interval '30 days' ORDER BY started_at DESC LIMIT 1),"
                " count(*), count(*) FILTER (WHERE outcome <> 'ok')"
                " FROM exchange_journal WHERE direction = 'out' AND peer = :p AND started_at > now() - interval '1 day'"
            ),
            {"p": peer},
        ).one()
        return PeerStatus(peer, row[0], row[1], row[2], int(row[3]), int(row[4]))

    def federal_work(self) -> FederalWork:
        row = self._conn.execute(
            text(
                "SELECT count(*), min(created_at),"
                " (SELECT last_error FROM federal_push WHERE state = 'pending' AND last_error IS NOT NULL"
                " ORDER BY entry_id DESC LIMIT 1),"
                " (SELECT min(done_until) FROM federal_event_window),"
                " (SELECT count(*) FROM reconciliation_run WHERE state = 'running')"
                " FROM federal_push WHERE state = 'pending'"
            )
        ).one()
        return FederalWork(OutboxStatus(int(row[0]), row[1], row[2]), row[3], int(row[4]))
