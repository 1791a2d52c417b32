"""Jobs that keep the hub observable; `rserz status` reads what they record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rq import get_current_job

HEARTBEAT_KEY = "rserz:heartbeat"


def heartbeat() -> str:
    """Prove that the scheduler enqueues and a worker runs jobs: store the time in Redis."""
    job = get_current_job()
    now = datetime.now(UTC).isoformat()
    if job is not None:
        job.connection.hset(HEARTBEAT_KEY, mapping={"at": now, "worker": job.worker_name or ""})
    return now


def prune_disclosures() -> int:
    """Forget disclosure rows older than RSERZ_DISCLOSURE_RETENTION_DAYS (run daily)."""
    from rserz_soap.config import load_settings
    from rserz_soap.jobs.resources import database
    from rserz_soap.usecases.audit import prune_disclosures as prune

    settings = load_settings()
    with database() as db:
        return prune(db.unit_of_work(), settings.disclosure_retention_days)


#: Redis hash of the routine jobs' last runs (snapshot exports, daily files, backups): for `rserz status`
ROUTINE_KEY = "rserz:routine:status"


def note_routine(name: str, *, ok: bool, result: str) -> None:
    """Record a routine job's last run (when it runs under RQ) so `rserz status` and the console show it."""
    job = get_current_job()
    if job is None:
        return
    now = datetime.now(UTC).isoformat(timespec="seconds")
    fields: dict[Any, Any] = {f"{name}:last_run_at": now, f"{name}:last_result": result[:300]}
    if ok:
        fields[f"{name}:last_ok_at"] = now
    else:
        fields[f"{name}:last_error"] = f"{now} {result}"[:300]
    job.connection.hset(ROUTINE_KEY, mapping=fields)
    job.meta["result"] = result[:300]
    job.save_meta()  # type: ignore[no-untyped-call]
