"""The routine jobs on a real RQ worker: the monthly snapshot publishes and exports (and a re-run rewrites
nothing), the nightly backup keeps RSERZ_BACKUP_KEEP backups; `rserz snapshot export` writes the same files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from rq import Queue, SimpleWorker
from sqlalchemy import Engine

from rserz_soap.config import Settings
from rserz_soap.demo.load import region_reference_from_files, seed_region
from rserz_soap.jobs import backup as backup_job
from rserz_soap.jobs import snapshots as snapshot_job
from rserz_soap.jobs.housekeeping import ROUTINE_KEY
from rserz_soap.runtime.services import ServiceUrls
from rserz_soap.usecases import backups

DAY = date.today().replace(day=1)


@pytest.fixture
def hub_env(
    fresh_engine: Engine,
    settings: Settings,
    services: ServiceUrls,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    seed_region(fresh_engine, region_reference_from_files(settings, DAY), 150, 11, progress=False, workers=0)
    monkeypatch.setenv("RSERZ_DATABASE_URL", fresh_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("RSERZ_REDIS_URL", services.redis_url)
    monkeypatch.setenv("RSERZ_VAR_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


def _run(redis_conn: redis.Redis, func, *args):  # type: ignore[no-untyped-def]
    queue = Queue("test-routine", connection=redis_conn)
    job = queue.enqueue(func, *args)
    SimpleWorker([queue], connection=redis_conn).work(burst=True)
    assert job.get_status(refresh=True) == "finished", job.exc_info
    return job


def test_the_monthly_job_publishes_and_exports_once(hub_env: Path, redis_conn: redis.Redis) -> None:
    from rserz_soap.cli import main

    redis_conn.delete(ROUTINE_KEY)
    job = _run(redis_conn, snapshot_job.publish_due, DAY.isoformat())
    folder = hub_env / "exports" / "snapshots"
    files = {p.suffix: p for p in folder.glob("SNAP_*") if not p.name.endswith(".json")}
    assert set(files) == {".xml", ".csv"}
    manifest = json.loads((folder / (files[".xml"].name + ".manifest.json")).read_text())
    assert manifest["snapshot_sha256"] == job.return_value() and manifest["persons"] > 100
    notes = redis_conn.hgetall(ROUTINE_KEY)
    assert f"{DAY}: {manifest['persons']} persons".encode() in notes[b"snapshot:last_result"]
    stamps = {p: p.stat().st_mtime_ns for p in files.values()}
    _run(redis_conn, snapshot_job.publish_due, DAY.isoformat())  # a re-run: nothing rewritten
    assert {p: p.stat().st_mtime_ns for p in files.values()} == stamps
    assert b"(kept)" in redis_conn.hget(ROUTINE_KEY, "snapshot:last_result")  # type: ignore[operator]

    # the operator's command writes the very same bytes elsewhere
    runner = CliRunner()
    out = runner.invoke(
        main, ["snapshot", "export", DAY.isoformat(), "--format", "csv", "--out", str(hub_env / "x")]
    )
    assert out.exit_code == 0, out.output
    assert (hub_env / "x" / files[".csv"].name).read_bytes() == files[".csv"].read_bytes()
    missing = runner.invoke(main, ["snapshot", "export", "2001-01-01", "--out", str(hub_env / "y")])
    assert missing.exit_code != 0 and "no snapshot of 2001-01-01" in missing.output
    assert not (hub_env / "y").exists()


def test_the_nightly_backup_keeps_the_newest(
    hub_env: Path, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RSERZ_BACKUP_KEEP", "1")
    first = _run(redis_conn, backup_job.nightly).return_value()
    import time

    time.sleep(1.1)  # backups are named by the second
    second = _run(redis_conn, backup_job.nightly).return_value()
    (kept,) = backups.backups(hub_env / "backups")
    assert second.startswith(kept.name) and not first.startswith(kept.name) and "removed 1 old" in second
    backups.verify(kept)
    assert redis_conn.hget(ROUTINE_KEY, "backup:last_ok_at")
