"""What must hold in the register whatever crashed: the invariants the fault suite (bench/faults.py) checks.

Each check is one query that counts the rows breaking its rule and names a few of them, so a report says
how bad it is and where to look. ``check_all`` runs them after the hub has drained (its outboxes had time
to empty); the ``drained`` checks are the ones that may legitimately be non-zero while work is in flight.

* every acknowledged write — a participant's ``REQUEST_ID`` the hub answered — has its stored answer and
  its buffer entries, and no buffer entry is in the register twice (one person version per applied
  entry, none for an entry that is not applied);
* the person's versions are numbered 1…``person.version_no`` without a gap, each with exactly one row of
  the change journal; the published feed (``change_journal.feed_seq``, ``db/feed.py``) is 1…N without a
  gap;
* every buffer entry is decided (applied or rejected) or waits with a reason: held for review with the
  decision that held it, or awaiting ФЕРЗЛ with a pending push;
* the outboxes are drained: no pending ФЕРЗЛ push, nothing unpublished, the ИСЗЛ cursor at the end of the
  feed, no СМЭВ request unanswered and no ЗАГС push unacknowledged;
* no person is in an impossible state: two open insurance periods, an open attachment while never
  insured, a death with an open insurance period.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

SAMPLES = 5


@dataclass(frozen=True)
class Acknowledged:
    """A write the hub answered: the participant (kind, code), its REQUEST_ID and how many records."""

    kind: str
    code: str
    request_id: uuid.UUID
    records: int


@dataclass(frozen=True)
class Result:
    name: str
    rule: str
    violations: int
    samples: tuple[str, ...] = ()
    checked: int | None = None  # how many things the rule was checked on, where that is meaningful

    @property
    def ok(self) -> bool:
        return self.violations == 0


def _rows(conn: Connection, sql: str, params: dict[str, object] | None = None) -> list[str]:
    return [str(r[0]) for r in conn.execute(text(sql), params or {})]


def _result(
    conn: Connection, name: str, rule: str, sql: str, params: dict[str, object] | None = None
) -> Result:
    """``sql`` selects one describing text per violation."""
    rows = _rows(conn, sql, params)
    return Result(name, rule, len(rows), tuple(rows[:SAMPLES]))


def acknowledged_writes(conn: Connection, acks: Sequence[Acknowledged]) -> Result:
    """Each answered REQUEST_ID has its stored answer and exactly its records in the buffer."""
    if not acks:
        return Result("acknowledged writes", "every answered REQUEST_ID is kept with its records", 0, (), 0)
    rows = _rows(
        conn,
        "WITH ack AS (SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:codes AS text[]),"
        " CAST(:ids AS uuid[]), CAST(:n AS int[])) AS a(kind, code, request_id, records))"
        " SELECT a.kind || ' ' || a.code || ' ' || a.request_id || ': '"
        " || CASE WHEN p.id IS NULL THEN 'no such participant'"
        "  WHEN k.request_id IS NULL THEN 'no idempotency key'"
        "  WHEN k.response_body IS NULL THEN 'no stored answer'"
        "  ELSE (SELECT count(*) FROM buffer_entry b WHERE b.participant_id = p.id"
        "   AND b.request_id = a.request_id) || ' buffer entries, ' || a.records || ' records sent' END"
        " FROM ack a LEFT JOIN participant p ON p.kind = a.kind AND p.code = a.code"
        " LEFT JOIN idempotency_key k ON k.participant_id = p.id AND k.request_id = a.request_id"
        " WHERE p.id IS NULL OR k.request_id IS NULL OR k.response_body IS NULL"
        " OR (SELECT count(*) FROM buffer_entry b WHERE b.participant_id = p.id"
        "  AND b.request_id = a.request_id) <> a.records",
        {
            "kinds": [a.kind for a in acks],
            "codes": [a.code for a in acks],
            "ids": [str(a.request_id) for a in acks],
            "n": [a.records for a in acks],
        },
    )
    return Result(
        "acknowledged writes",
        "every answered REQUEST_ID is kept with its answer and its records",
        len(rows),
        tuple(rows[:SAMPLES]),
        len(acks),
    )


def applied_once(conn: Connection) -> Result:
    return _result(
        conn,
        "applied exactly once",
        "an applied buffer entry made at most one person version (П062 none); any other entry none",
        "SELECT 'entry ' || b.id || ' (' || b.state || '): ' || count(v.id) || ' versions'"
        " FROM buffer_entry b LEFT JOIN person_version v ON v.buffer_entry_id = b.id"
        " GROUP BY b.id, b.state HAVING count(v.id) > 1 OR (b.state <> 'applied' AND count(v.id) > 0)",
    )


def version_gaps(conn: Connection) -> Result:
    return _result(
        conn,
        "versions without gaps",
        "a person's versions are 1…version_no, each once",
        "SELECT 'person ' || p.id || ': version_no ' || p.version_no || ', '"
        " || count(v.id) || ' versions, max ' || coalesce(max(v.version_no), 0)"
        " FROM person p LEFT JOIN person_version v ON v.person_id = p.id"
        " GROUP BY p.id, p.version_no"
        " HAVING count(v.id) <> p.version_no OR coalesce(max(v.version_no), 0) <> p.version_no"
        " OR coalesce(min(v.version_no), 1) <> 1",
    )


def journal_per_version(conn: Connection) -> Result:
    return _result(
        conn,
        "change journal complete",
        "every person version has exactly one change-journal row",
        "SELECT 'version ' || v.id || ' of person ' || v.person_id || ': ' || count(j.seq) || ' journal rows'"
        " FROM person_version v LEFT JOIN change_journal j ON j.version_id = v.id"
        " GROUP BY v.id, v.person_id HAVING count(j.seq) <> 1",
    )


def feed_gaps(conn: Connection) -> Result:
    return _result(
        conn,
        "feed without gaps",
        "the published feed positions are 1…N, each once",
        "SELECT 'feed: ' || count(feed_seq) || ' positions, min ' || min(feed_seq) || ', max ' || max(feed_seq)"
        " FROM change_journal HAVING count(feed_seq) > 0"
        " AND (count(feed_seq) <> max(feed_seq) OR min(feed_seq) <> 1)",
    )


def buffer_settled(conn: Connection) -> Result:
    return _result(
        conn,
        "buffer settled",
        "every buffer entry is applied, rejected, held for review with a reason or awaits ФЕРЗЛ with a push",
        "SELECT 'entry ' || b.id || ': ' || b.state"
        " || CASE WHEN b.state = 'awaiting_federal' THEN ' without a pending push'"
        "  WHEN b.state = 'awaiting_review' THEN ' without a reason' ELSE ' (not decided)' END"
        " FROM buffer_entry b"
        " WHERE b.state IN ('received', 'checked', 'accepted')"
        " OR (b.state = 'awaiting_federal' AND NOT EXISTS (SELECT 1 FROM federal_push f"
        "  WHERE f.entry_id = b.id AND f.state = 'pending'))"
        " OR (b.state = 'awaiting_review' AND NOT EXISTS (SELECT 1 FROM buffer_decision d"
        "  WHERE d.entry_id = b.id AND d.to_state = 'awaiting_review' AND coalesce(d.reason, '') <> ''))"
        " ORDER BY b.id",
    )


def federal_outbox(conn: Connection) -> Result:
    return _result(
        conn,
        "ФЕРЗЛ outbox drained",
        "no accepted change waits for its push to ФЕРЗЛ",
        "SELECT 'push of entry ' || entry_id || ': ' || attempts || ' attempts, '"
        " || coalesce(last_error, 'not tried yet') FROM federal_push WHERE state = 'pending' ORDER BY entry_id",
    )


def feed_published(conn: Connection) -> Result:
    return _result(
        conn,
        "feed published",
        "every change-journal row has its feed position",
        "SELECT 'journal row ' || seq || ' unpublished' FROM change_journal WHERE feed_seq IS NULL ORDER BY seq",
    )


def iszl_cursor(conn: Connection) -> Result:
    return _result(
        conn,
        "ИСЗЛ outbox drained",
        "the ИСЗЛ cursor is at the end of the published feed",
        "SELECT 'ИСЗЛ cursor at ' || coalesce(c.position, 0) || ' of ' || f.last"
        " || coalesce(' (' || c.last_error || ')', '')"
        " FROM (SELECT coalesce(max(feed_seq), 0) AS last FROM change_journal) f"
        " LEFT JOIN feed_cursor c ON c.name = 'iszl' WHERE coalesce(c.position, 0) < f.last",
    )


def smev_outbox(conn: Connection) -> Result:
    return _result(
        conn,
        "СМЭВ outbox drained",
        "no СФР request unanswered, no ЗАГС push unapplied or unacknowledged",
        "SELECT 'request ' || message_id || ': ' || state || coalesce(' (' || last_error || ')', '')"
        " FROM smev_request WHERE state IN ('pending', 'sent')"
        " UNION ALL SELECT 'ЗАГС push ' || message_id || ': ' || state"
        " || CASE WHEN acked_at IS NULL THEN ', not acknowledged' ELSE '' END"
        " FROM smev_inbox WHERE state = 'received' OR acked_at IS NULL",
    )


_OPEN_PERIOD = "superseded_at IS NULL AND dstop IS NULL"


def two_open_periods(conn: Connection) -> Result:
    return _result(
        conn,
        "one open insurance period",
        "no person has two open insurance periods",
        "SELECT 'person ' || person_id || ': ' || count(*) || ' open periods' FROM insurance_period"
        f" WHERE {_OPEN_PERIOD} GROUP BY person_id HAVING count(*) > 1",
    )


def attachment_without_insurance(conn: Connection) -> Result:
    return _result(
        conn,
        "attachment with insurance",
        "no open attachment of a person never insured",
        "SELECT 'person ' || a.person_id || ': attached to ' || a.mo_code || ' since ' || a.date_in"
        " FROM attachment a WHERE a.superseded_at IS NULL AND a.date_out IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM insurance_period i WHERE i.person_id = a.person_id"
        " AND i.superseded_at IS NULL)",
    )


def death_with_open_policy(conn: Connection) -> Result:
    return _result(
        conn,
        "no dead insured",
        "a dead person has no open insurance period",
        "SELECT 'person ' || d.person_id || ': died ' || coalesce(d.ddeath::text, '?') || ', policy open'"
        " FROM person_data d WHERE d.superseded_at IS NULL AND d.valid_to IS NULL"
        " AND (d.status = 'dead' OR d.ddeath IS NOT NULL)"
        f" AND EXISTS (SELECT 1 FROM insurance_period i WHERE i.person_id = d.person_id AND i.{_OPEN_PERIOD})",
    )


def check_all(conn: Connection, acks: Sequence[Acknowledged] = ()) -> list[Result]:
    """Every invariant, in the order a report lists them."""
    return [
        acknowledged_writes(conn, acks),
        applied_once(conn),
        version_gaps(conn),
        journal_per_version(conn),
        feed_gaps(conn),
        buffer_settled(conn),
        federal_outbox(conn),
        feed_published(conn),
        iszl_cursor(conn),
        smev_outbox(conn),
        two_open_periods(conn),
        attachment_without_insurance(conn),
        death_with_open_policy(conn),
    ]


#: checks that count work still in flight: the suite waits for them to reach zero before judging
DRAINING = frozenset(
    {"buffer settled", "ФЕРЗЛ outbox drained", "feed published", "ИСЗЛ outbox drained", "СМЭВ outbox drained"}
)
