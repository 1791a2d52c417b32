"""A database of its own for the seeding tests.

Seeding commits (one big transaction, like ``rserz seed``) and drops and rebuilds the person tables'
indexes, so it must not run in the suite's shared database where other tests expect an empty register
inside their rolled-back transactions. This fixture creates a throw-away database on the same server,
migrates it, loads the bundled НСИ and drops the database at the end of the session.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from rserz_soap.db import migrate
from rserz_soap.db.engine import make_engine, normalize_url
from rserz_soap.runtime.bootstrap import import_nsi


@pytest.fixture(scope="session")
def seed_engine(database_url: str) -> Iterator[Engine]:
    base = make_url(normalize_url(database_url))
    name = f"rserz_seed_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base.render_as_string(hide_password=False), pool_size=1)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    try:
        migrate.upgrade(engine)
        from rserz_soap.files.nsi import bundled_files

        import_nsi(engine, bundled_files(), say=lambda _m: None)
        yield engine
    finally:
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
