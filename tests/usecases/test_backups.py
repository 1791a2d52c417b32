"""Backups: a populated register is dumped, restored into a fresh database, and the main tables compare
equal (row counts and md5 of ordered rows, computed here on both databases); a damaged file is refused;
retention keeps the newest; the CLI does the same round trip."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from rserz_soap.config import Settings
from rserz_soap.db import backup as pg
from rserz_soap.db.engine import make_engine
from rserz_soap.db.tables import SNAPSHOT_PARTITION
from rserz_soap.db.uow import Database
from rserz_soap.demo.load import region_reference_from_files, seed_region
from rserz_soap.runtime.services import ServiceUrls
from rserz_soap.usecases import backups, snapshots


@pytest.fixture
def populated(fresh_engine: Engine, settings: Settings) -> Engine:
    day = date.today().replace(day=1)
    seed_region(fresh_engine, region_reference_from_files(settings, day), 200, 9, progress=False, workers=0)
    snapshots.publish(Database(fresh_engine).unit_of_work(), day, actor="test")
    return fresh_engine


def _drop(engine: Engine, name: str) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_backup_restores_into_a_fresh_database_with_the_same_rows(populated: Engine, tmp_path: Path) -> None:
    url = populated.url.render_as_string(hide_password=False)
    tables: list[str] = []
    done = backups.backup(url, tmp_path, keep=3, on_table=tables.append)
    m = done.manifest
    assert done.path.exists() and {"person", "insurance_period"} <= set(tables)
    assert any(SNAPSHOT_PARTITION.match(t) for t in tables)  # a published snapshot's own partition
    assert m["database"] == populated.url.database and m["alembic_revision"] and m["server_version"]
    assert (tmp_path / (done.path.name + ".sha256")).read_text().split() == [m["sha256"], done.path.name]
    with populated.connect() as conn:
        persons = conn.execute(text("SELECT count(*) FROM person")).scalar_one()
    assert m["tables"]["person"]["rows"] == persons == 200 and m["changed_during_dump"] == []

    target = f"{populated.url.database}_restored"
    try:
        restored = backups.restore(done.path, target, server_url=url)
        assert restored.differences == {} and restored.database == target
        copy = make_engine(restored.url, pool_size=1)
        try:
            original, again = pg.table_facts(populated), pg.table_facts(copy)
            assert again == original and len(original) >= 15
            assert again["snapshot_row"].rows > 100  # not vacuous: the tables hold rows
        finally:
            copy.dispose()
        # a second restore into the same (no longer empty) database is refused
        with pytest.raises(backups.BackupError, match="already holds tables"):
            backups.restore(done.path, target, server_url=url)
    finally:
        _drop(populated, target)


def test_a_damaged_backup_is_refused_before_anything_is_touched(populated: Engine, tmp_path: Path) -> None:
    url = populated.url.render_as_string(hide_password=False)
    done = backups.backup(url, tmp_path, keep=3)
    raw = bytearray(done.path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    done.path.write_bytes(bytes(raw))
    target = f"{populated.url.database}_never"
    with pytest.raises(backups.BackupError, match="checksum mismatch"):
        backups.restore(done.path, target, server_url=url)
    with populated.connect() as conn:
        assert (
            conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target}).first() is None
        )
    with pytest.raises(backups.BackupError, match="no such backup"):
        backups.verify(tmp_path / "missing.dump")
    good = backups.backup(url, tmp_path / "good", keep=1)
    with pytest.raises(backups.BackupError, match="not a database name"):
        backups.restore(good.path, 'x"; DROP DATABASE postgres; --', server_url=url)
    absent = url.replace(str(populated.url.database), "no_such_database_here")
    with pytest.raises(backups.BackupError, match="no_such_database_here"):
        backups.restore(good.path, absent, server_url=url)  # a URL names an existing, empty database


def test_retention_keeps_the_newest(populated: Engine, tmp_path: Path) -> None:
    url = populated.url.render_as_string(hide_password=False)
    made = [
        backups.backup(url, tmp_path, keep=2, now=datetime(2026, 1, d, 2, 30, tzinfo=UTC)).path
        for d in (1, 2, 3)
    ]
    assert backups.backups(tmp_path) == made[1:]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        n for p in made[1:] for n in (p.name, p.name + ".sha256", p.name + ".manifest.json")
    )


def test_the_cli_backs_up_and_restores(
    populated: Engine, services: ServiceUrls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rserz_soap.cli import main

    url = populated.url.render_as_string(hide_password=False)
    monkeypatch.setenv("RSERZ_DATABASE_URL", url)
    monkeypatch.setenv("RSERZ_REDIS_URL", services.redis_url)
    monkeypatch.setenv("RSERZ_VAR_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    assert "pg_dump" in runner.invoke(main, ["backup", "--help"]).output
    made = runner.invoke(main, ["backup", "--out", str(tmp_path / "b"), "--keep", "1"])
    assert made.exit_code == 0, made.output
    (dump,) = backups.backups(tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / (dump.name + ".manifest.json")).read_text())
    assert f"sha256 {manifest['sha256']}" in made.output
    target = f"{populated.url.database}_cli"
    try:
        back = runner.invoke(main, ["restore", str(dump), "--into", target])
        assert back.exit_code == 0, back.output
        assert "the same row counts and checksums" in back.output
    finally:
        _drop(populated, target)
    dump.write_bytes(dump.read_bytes() + b"x")
    refused = runner.invoke(main, ["restore", str(dump), "--into", target + "2"])
    assert refused.exit_code != 0 and "checksum mismatch" in refused.output
