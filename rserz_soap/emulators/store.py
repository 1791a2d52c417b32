"""What the emulators' own databases share: where each lives (``<hub database><suffix>`` on the hub's
server), creating it, and the one-row table of fault switches.

An emulator stands for a system outside the region, so it keeps its data apart from the hub's tables. Its
schema is made with ``metadata.create_all`` — a stand-in needs no migrations; drop the database to start over.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, SmallInteger, Table, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url

from rserz_soap.db.engine import make_engine, normalize_url

__all__ = ["database_url", "ensure_database", "switches_table"]


def database_url(hub_database_url: str, suffix: str) -> str:
    """An emulator's database: the hub's server, the hub's database name plus ``suffix``."""
    url = make_url(normalize_url(hub_database_url))
    if not url.database:
        raise ValueError("the hub's database URL names no database")
    return url.set(database=f"{url.database}{suffix}").render_as_string(hide_password=False)


def ensure_database(url: str) -> bool:
    """Create the database of ``url`` if it is missing; True when it was created.

    Connects (in autocommit: CREATE DATABASE cannot run in a transaction) to the server's ``postgres``
    database, or to ``template1`` when that one is absent.
    """
    target = make_url(normalize_url(url))
    name = target.database
    if not name:
        raise ValueError("the URL names no database")
    last_error: Exception | None = None
    for admin_db in ("postgres", "template1"):
        admin = make_engine(
            target.set(database=admin_db).render_as_string(hide_password=False),
            pool_size=1,
            application_name="rserz-ferzl-admin",
        )
        try:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                exists = conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                ).first()
                if exists is not None:
                    return False
                quoted = conn.dialect.identifier_preparer.quote(name)
                conn.execute(text(f"CREATE DATABASE {quoted}"))
                return True
        except Exception as exc:  # noqa: BLE001 - try the next maintenance database, report the last error
            last_error = exc
        finally:
            admin.dispose()
    raise RuntimeError(f"cannot create the emulator database {name!r}: {last_error}")


def switches_table(name: str, metadata: MetaData) -> Table:
    """The fault switches (one row, id 1, the JSON of the emulator's ``Faults``), shared by every process."""
    return Table(
        name,
        metadata,
        Column("id", SmallInteger, primary_key=True),
        Column("switches", JSONB, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
