"""Shared by the benchmarks: a description of the machine, the CPU its processes use, and writing a section
of docs/benchmarks.md."""

from __future__ import annotations

import contextlib
import os
import platform
import re
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    mem = cpu = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores (nproc) {cpu or platform.machine()}, {mem}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def tree_cpu(root: psutil.Process | None) -> float:
    """CPU seconds of ``root`` and every process under it, the living and the ones already reaped."""
    if root is None:
        return 0.0
    total = 0.0
    with contextlib.suppress(psutil.NoSuchProcess):
        for p in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
    return total


def postmaster(engine: Any) -> psutil.Process | None:
    """The postmaster of ``engine``'s server when it runs on this machine (the parent of our backend)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        backend = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    try:
        return psutil.Process(backend).parent()
    except psutil.Error:
        return None  # a server elsewhere: its CPU is not counted


def redis_server(redis_url: str, var_dir: str) -> psutil.Process | None:
    """The Redis server of ``redis_url`` when it runs on this machine: the embedded one's pid file, or the
    process listening on the URL's port; None when it is elsewhere (its CPU is not counted)."""
    pidfile = Path(var_dir) / "redis" / "redis.pid"
    if redis_url.startswith("unix://") and pidfile.exists():
        with contextlib.suppress(ValueError, psutil.Error):
            return psutil.Process(int(pidfile.read_text().split()[0]))
    from urllib.parse import urlsplit

    with contextlib.suppress(ValueError, psutil.Error):
        port = urlsplit(redis_url).port or 6379
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return psutil.Process(conn.pid)
    return None


def write_section(title: str, body: str, doc: Path = DOC) -> None:
    """Replace (or append) the ``## title`` section of the benchmarks document."""
    doc.parent.mkdir(parents=True, exist_ok=True)
    current = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _m: section + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + section
    doc.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")
