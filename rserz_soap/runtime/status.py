"""What `rserz status` reports: enough for an operator to see at a glance whether the hub works."""

from __future__ import annotations

from redis import Redis
from rq import Queue, Worker
from sqlalchemy import Engine, func, select, text

from rserz_soap.config import Settings
from rserz_soap.db import migrate
from rserz_soap.db.tables import buffer_entry, nsi_version, participant, person
from rserz_soap.db.uow import Database
from rserz_soap.jobs import queues
from rserz_soap.jobs.housekeeping import HEARTBEAT_KEY
from rserz_soap.jobs.redis_conn import redis_from_url
from rserz_soap.runtime.services import ServiceUrls
from rserz_soap.web import health


def collect(settings: Settings, urls: ServiceUrls, engine: Engine) -> list[str]:
    redis = redis_from_url(urls.redis_url, socket_timeout=2)
    pg, rd = health.check_postgres(Database(engine)), health.check_redis(redis)
    lines = [
        f"PostgreSQL  {'ok' if pg.ok else 'DOWN ' + str(pg.error)}  {urls.database_url}",
        f"Redis       {'ok' if rd.ok else 'DOWN ' + str(rd.error)}  {urls.redis_url}",
    ]
    revision = migrate.current_revision(engine) if pg.ok else None
    if pg.ok and revision is None:
        lines.append("schema      not migrated yet: run `rserz migrate` (or `rserz up`)")
    if pg.ok and revision is not None:
        with engine.connect() as conn:
            persons = conn.execute(select(func.count()).select_from(person)).scalar_one()
            parts = conn.execute(select(func.count()).select_from(participant)).scalar_one()
            versions = conn.execute(select(func.count()).select_from(nsi_version)).scalar_one()
            rows = conn.execute(select(buffer_entry.c.state, func.count()).group_by(buffer_entry.c.state))
            states: dict[str, int] = {r[0]: r[1] for r in rows}
        lines += [
            f"schema      revision {revision}",
            f"register    {persons} persons, {parts} participants, {versions} НСИ versions",
            "buffer      " + (", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "empty"),
            *_federal(engine, settings),
            *_smev(engine, settings, redis if rd.ok else None),
            _iszl(engine, settings),
        ]
    lines.append(_trust(settings))
    if rd.ok:
        for name in queues.ALL:
            lines.append(f"queue       {name}: {Queue(name, connection=redis).count} waiting")
        workers = Worker.all(connection=redis)
        lines.append(f"workers     {len(workers)}: " + ", ".join(w.name for w in workers))
        beat = redis.hget(HEARTBEAT_KEY, "at")
        when = beat.decode() if isinstance(beat, bytes) else beat
        lines.append(f"scheduler   last heartbeat job ran at {when or 'never'}")
        lines += _routine(redis)
    return lines


#: the routine jobs `note_routine` records, and how `rserz status` names them
ROUTINE = (("snapshot", "snapshot"), ("smo-files", "smo files"), ("backup", "backup"))


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _routine(redis: Redis) -> list[str]:
    """The last run of each routine job (snapshot export, daily СМО files, backup) as the jobs noted it."""
    from rserz_soap.jobs.housekeeping import ROUTINE_KEY

    raw = redis.hgetall(ROUTINE_KEY)
    notes = {_s(k): _s(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    lines = []
    for key, title in ROUTINE:
        last = notes.get(f"{key}:last_run_at")
        if last is None:
            lines.append(f"{title:<11} never run")
            continue
        failed = notes.get(f"{key}:last_ok_at", "") < last
        state = (
            f"FAILED {notes.get(f'{key}:last_error', '')}" if failed else notes.get(f"{key}:last_result", "")
        )
        lines.append(f"{title:<11} {last}: {state}")
    return lines


def _trust(settings: Settings) -> str:
    """The certificates the gate trusts: a missing or broken CRL refuses every request (fail closed)."""
    import datetime as dt

    from rserz_soap.xmlsig.trust import TrustStore

    try:
        store = TrustStore.from_pki_dir(settings.pki_dir, require_crl=True)
    except (OSError, ValueError) as exc:
        return f"trust       BROKEN — every SOAP request is refused: {exc}"
    stale = store.stale_crls(dt.datetime.now(dt.UTC))
    return "trust       " + (f"CRL stale (the CA has not published): {'; '.join(stale)}" if stale else "ok")


def _iszl(engine: Engine, settings: Settings) -> str:
    """The ИСЗЛ's pushes: how far it has been served, what waits, why the last attempt failed."""
    from rserz_soap.db.uow import Database
    from rserz_soap.usecases import iszl

    position, last, error = iszl.state(Database(engine).reading())
    waiting = f"{last - position} published changes to look at" if last > position else "up to date"
    return f"ИСЗЛ        {settings.iszl_endpoint}: served up to {position}, {waiting}" + (
        f"; last attempt failed: {error}" if error else ""
    )


def _smev(engine: Engine, settings: Settings, redis: Redis | None) -> list[str]:
    """СМЭВ 3: the circuit, the last polls (from the jobs' Redis hash), the ЗАГС inbox and СФР requests."""
    import pybreaker

    from rserz_soap.db.smev import Newborns, SmevInbox, SmevRequests
    from rserz_soap.jobs.smev import STATUS_KEY
    from rserz_soap.smev.client import breaker_key

    with engine.connect() as conn:
        inbox, requests = SmevInbox(conn).counts(), SmevRequests(conn).counts()
        newborns = Newborns(conn).count()
    circuit, polls = "?", "never polled"
    if redis is not None:
        circuit = str(
            pybreaker.CircuitRedisStorage(
                pybreaker.STATE_CLOSED, redis, namespace=breaker_key(settings.smev_endpoint)
            ).state
        )
        raw = redis.hgetall(STATUS_KEY)
        s = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()
        }
        if s:
            polls = (
                f"last poll {s.get('last_poll_at', 'never')} (last ok {s.get('last_ok_at', 'never')}); "
                f"taken {s.get('taken', 0)}, applied {s.get('applied', 0)}, held {s.get('held', 0)}, "
                f"errors {s.get('errors', 0)}"
                + (f" (last: {s['last_error']})" if s.get("last_error") else "")
            )
    counts = ", ".join(f"{k} {v}" for k, v in sorted(inbox.items())) or "empty"
    asked = ", ".join(f"{k} {v}" for k, v in sorted(requests.items())) or "none"
    return [
        f"СМЭВ 3      {settings.smev_endpoint} (schema {settings.smev_version}); circuit {circuit}; {polls}",
        f"            ЗАГС inbox: {counts}; newborns waiting for a policy {newborns}; СФР requests: {asked}",
    ]


def _federal(engine: Engine, settings: Settings) -> list[str]:
    """Where the hub stands with ФЕРЗЛ: waiting pushes, the last day of federal changes, running runs."""
    with engine.connect() as conn:
        push = conn.execute(
            text(
                "SELECT count(*), min(created_at), max(last_error) FROM federal_push WHERE state = 'pending'"
            )
        ).one()
        day = conn.execute(text("SELECT max(done_until) FROM federal_event_window")).scalar()
        runs = conn.execute(
            text(
                "SELECT id, persons, differences FROM reconciliation_run WHERE state = 'running' ORDER BY id"
            )
        ).all()
    waiting = f"{push[0]} changes waiting" + (f" since {push[1]:%Y-%m-%d %H:%M}" if push[1] else "")
    if push[2]:
        waiting += f" (last error: {push[2]})"
    return [
        f"ФЕРЗЛ       {settings.ferzl_endpoint} (API {settings.ferzl_api_version}); {waiting}",
        f"            events taken up to {day or 'never'}; "
        + (
            "reconciliations running: " + ", ".join(f"#{r.id} ({r.persons} persons)" for r in runs)
            if runs
            else "no reconciliation running"
        ),
    ]
