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
