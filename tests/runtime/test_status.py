from __future__ import annotations

import dataclasses

from sqlalchemy import Engine

from rserz_soap.config import Settings
from rserz_soap.runtime.services import ServiceUrls
from rserz_soap.runtime.status import collect


def test_status_reports_databases_schema_buffer_and_queues(
    settings: Settings, services: ServiceUrls, database_url: str, db_engine: Engine
) -> None:
    urls = dataclasses.replace(services, database_url=database_url)
    lines = collect(settings, urls, db_engine)
    text = "\n".join(lines)
    assert text.startswith("PostgreSQL  ok") and "Redis       ok" in text
    from alembic.script import ScriptDirectory

    from rserz_soap.db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"schema      revision {head}" in text and "buffer      " in text
    assert "queue       federal: " in text and "scheduler   last heartbeat" in text
    assert "snapshot    " in text and "smo files   " in text and "backup      " in text  # the routine jobs
    assert "СМЭВ 3      http://127.0.0.1:" in text and "circuit closed" in text and "ЗАГС inbox: " in text


def test_status_shows_where_the_hub_stands_with_ferzl(
    settings: Settings, services: ServiceUrls, database_url: str, fresh_engine: Engine
) -> None:
    from sqlalchemy import text

    with fresh_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO federal_event_window (feed, done_until) VALUES ('getChangesEvent', '2026-11-20')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO reconciliation_run (filter, policy, actor, persons) VALUES ('{}', 'report', 't', 30000)"
            )
        )
    urls = dataclasses.replace(services, database_url=database_url)
    text_ = "\n".join(collect(settings, urls, fresh_engine))
    assert f"ФЕРЗЛ       {settings.ferzl_endpoint} (API 24.2.6); 0 changes waiting" in text_
    assert "events taken up to 2026-11-20" in text_ and "(30000 persons)" in text_
