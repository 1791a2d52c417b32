"""Real PostgreSQL and Redis for the whole suite.

Embedded servers under a temporary folder by default; the servers named by ``RSERZ_DATABASE_URL`` /
``RSERZ_REDIS_URL`` when those are set (then a throw-away database is created on that server, so a
configured database is never touched).
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from rserz_soap.config import Settings, load_settings
from rserz_soap.db import migrate
from rserz_soap.db.engine import make_engine, normalize_url
from rserz_soap.runtime.services import ServiceUrls, running_services
from tests.harness import cloned_database, rolled_back


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    var = tmp_path_factory.mktemp("var")
    # The registry's own tests see the register alone; the federal-first path is tested with the ФЕРЗЛ
    # emulator in tests/federal and turns it on there.
    return dataclasses.replace(load_settings(), var_dir=str(var), federal_first=False)


@pytest.fixture(scope="session")
def services(settings: Settings) -> Iterator[ServiceUrls]:
    with running_services(settings) as urls:
        yield urls


def _throwaway_database(url: str) -> tuple[str, str]:
    """Create a fresh database on a configured server; returns (its URL, its name)."""
    base = make_url(normalize_url(url))
    name = f"rserz_test_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base.render_as_string(hide_password=False), pool_size=1)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False), name


@pytest.fixture(scope="session")
def database_url(services: ServiceUrls, settings: Settings) -> Iterator[str]:
    if not settings.database_url:
        yield services.database_url
        return
    url, name = _throwaway_database(services.database_url)
    yield url
    admin = make_engine(normalize_url(services.database_url), pool_size=1)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db_conn(db_engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with rolled_back(db_engine) as conn:
        yield conn


@pytest.fixture
def redis_conn(services: ServiceUrls) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(services.redis_url)
    namespace_db = conn
    yield namespace_db
    conn.close()


@pytest.fixture(scope="session")
def env_for_subprocess(settings: Settings, database_url: str, services: ServiceUrls) -> dict[str, str]:
    """Environment for a child ``rserz`` process that must share the suite's servers."""
    env = dict(os.environ)
    env.update(
        RSERZ_VAR_DIR=settings.var_dir,
        RSERZ_DATABASE_URL=database_url,
        RSERZ_REDIS_URL=services.redis_url,
        RSERZ_FEDERAL_FIRST="0",
    )
    return env


def data_path(*parts: str) -> Path:
    return Path(__file__).parent.joinpath("data", *parts)


@pytest.fixture(scope="session")
def template_database(db_engine: Engine, database_url: str) -> str:
    """A migrated database with the bundled НСИ and ФЛК directory, to clone per test (fast: TEMPLATE)."""
    from rserz_soap.runtime import bootstrap

    base = make_url(normalize_url(database_url))
    name = f"{base.database}_tpl"
    with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=1)
    migrate.upgrade(engine)
    from rserz_soap.files.nsi import bundled_files

    bootstrap.import_nsi(engine, bundled_files(), say=lambda _m: None)
    bootstrap.load_flk_directory(engine, say=lambda _m: None)
    engine.dispose()
    return name


@pytest.fixture
def fresh_engine(db_engine: Engine, database_url: str, template_database: str) -> Iterator[Engine]:
    """A database of its own for a test that commits (the buffer, concurrency, crash tests)."""
    with cloned_database(db_engine, database_url, template_database, "fresh") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def fresh_conn(fresh_engine: Engine) -> Iterator[Connection]:
    """A database of its own, in a transaction rolled back after the test: rows written and rolled back in
    the shared database leave its indexes larger, which changes the plans other tests there assert on."""
    with rolled_back(fresh_engine) as conn:
        yield conn
