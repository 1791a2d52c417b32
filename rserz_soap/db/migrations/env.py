"""Alembic environment: the URL comes from the caller (``rserz migrate``) or from RSERZ_DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import engine_from_config, pool

from rserz_soap.db.engine import normalize_url
from rserz_soap.db.tables import include_object, metadata

config = context.config
target_metadata = metadata

connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=target_metadata, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()
else:
    url = config.get_main_option("sqlalchemy.url") or os.environ["RSERZ_DATABASE_URL"]
    engine = engine_from_config(
        {"sqlalchemy.url": normalize_url(url)}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
