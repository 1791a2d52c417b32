"""gunicorn running the WSGI app, configured from :class:`Settings` rather than a separate config file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from rserz_soap.config import Settings, supervised_log_dir


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


class HubServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        self.cfg.set("bind", f"{s.host}:{s.port}")
        self.cfg.set("workers", s.web_workers)
        if s.web_threads > 1:  # threads overlap one request's waits for PostgreSQL/Redis with another's work
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", s.web_threads)
        else:
            self.cfg.set("worker_class", "sync")
        self.cfg.set("timeout", 60)
        self.cfg.set("graceful_timeout", 15)
        self.cfg.set("keepalive", 5)
        self.cfg.set("accesslog", None)
        folder = supervised_log_dir()
        if folder is not None:  # under `rserz up`: gunicorn's own lines beside the process's log
            self.cfg.set("errorlog", str(folder / "gunicorn-web.log"))
        self.cfg.set("proc_name", "rserz-web")
        self.cfg.set("child_exit", _child_exit)
        # gunicornc's control socket lives with the hub's other runtime files, one per var/ (two hubs on one
        # machine, or the test suite beside `make run`, would otherwise fight over ~/.gunicorn/gunicorn.ctl)
        self.cfg.set("control_socket", str(Path(s.var_dir) / "run" / "gunicorn.ctl"))

    def load(self) -> Any:
        from rserz_soap.web.app import create_app

        return create_app(self.settings)


def serve(settings: Settings) -> None:
    # Each gunicorn worker writes its metrics here; /metrics merges them. Stale files from a previous run
    # would be merged too, so the folder starts empty.
    prom = Path(settings.var_dir) / "run" / "prometheus"
    shutil.rmtree(prom, ignore_errors=True)
    prom.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prom)
    HubServer(settings).run()
