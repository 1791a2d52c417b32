"""Embedded PostgreSQL stopped and started again by the same process (as the fault suite restarts it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from rserz_soap.db.engine import make_engine
from rserz_soap.runtime.embedded import EmbeddedPostgres, postgres_running

pytestmark = pytest.mark.slow


def test_a_second_start_after_a_stop_starts_the_server_again(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg")
    url = pg.start()
    try:
        pg.stop()
        assert not postgres_running(pg.pgdata)
        again = pg.start()  # the wheel's cached handle used to make this a no-op: nothing listened
        assert again == url and postgres_running(pg.pgdata)
        engine = make_engine(again, application_name="test")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        engine.dispose()
    finally:
        pg.stop()
