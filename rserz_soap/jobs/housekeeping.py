"""Jobs that keep the hub observable; `rserz status` reads what they record."""

from __future__ import annotations

from datetime import UTC, datetime

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
    from rserz_soap.jobs.buffer import database
    from rserz_soap.usecases.audit import prune_disclosures as prune

    settings = load_settings()
    with database() as db:
        return prune(db.unit_of_work(), settings.disclosure_retention_days)
