"""`rserz up`: the whole hub on one machine as child processes of one supervisor.

The children (web, worker, scheduler, the emulators of the outside world) run in their own sessions
so that Ctrl-C reaches only the supervisor, which then stops them in order — children first, Redis and PostgreSQL last — and a child
that outlives the supervisor (kill -9) is told to die by the kernel (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from rserz_soap.config import LOG_DIR_ENV, Settings

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
CRASH_WINDOW_S = 10.0  # a child that dies this soon after its *first* start is broken: stop everything
MAX_BACKOFF_S = 30.0  # a restarted child that keeps dying (Redis or PostgreSQL away) is retried this often
STOP_TIMEOUT_S = 20.0

Say = Callable[[str], None]


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: the supervisor's own shutdown still stops the children
        pass


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = 0.0  # seconds before the next restart; doubles while restarts keep dying at once
    restart_at: float | None = None  # when the pending restart is due

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            self.argv, env=env, start_new_session=True, preexec_fn=_die_with_parent
        )
        self.started_at = time.monotonic()

    def signal(self, sig: int) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def kill_leftovers(self) -> None:
        """Kill what the exited child left in its session (gunicorn workers holding its port, an RQ work
        horse): a restart must start clean, and orphans of a kill -9 would keep the new one from binding."""
        if self.process is not None and self.process.poll() is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Supervisor:
    settings: Settings
    env: dict[str, str]
    say: Say = print
    children: list[Child] = field(default_factory=list)
    console_notes: list[str] = field(default_factory=list)  # the console's first user, or how to add one
    _stopping: bool = False

    def _handle(self, signum: int, frame: object) -> None:
        self._stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)
        py = [sys.executable, "-m", "rserz_soap"]
        logs = self.settings.var_path / "log"
        self.env = {**self.env, LOG_DIR_ENV: str(logs)}  # children log to var/log/, warnings to the terminal
        emulators = Child("emulators", [*py, "emulators"])  # ФЕРЗЛ and СМЭВ 3 stand-ins
        self.children = [emulators]
        emulators.start(self.env)
        # The outside world first: the scheduler's first ticks call ФЕРЗЛ and СМЭВ, which must be serving by
        # then (their first start seeds their own copy of the demo region).
        waited = self._wait_for_emulators(emulators)
        if waited is None:
            self.stop()
            return 1
        self.say(f"emulators of ФЕРЗЛ, СМЭВ 3 and ИСЗЛ ready after {waited:.0f} s")
        self.children += [
            Child("web", [*py, "serve"]),
            Child("worker", [*py, "worker"]),
            Child("scheduler", [*py, "scheduler"]),
        ]
        for child in self.children[1:]:
            child.start(self.env)
        self.say(f"started web, worker and scheduler; their logs are in {logs}/")
        status = 0
        announced = False
        while not self._stopping:
            time.sleep(0.3)
            if not announced and _healthy(self.settings):
                announced = True
                self._announce()
            for child in self.children:
                if not self.watch(child):
                    self._stopping, status = True, 1
                    break
        self.stop()
        return status

    def watch(self, child: Child) -> bool:
        """Restart ``child`` if it exited; False when the hub must stop (it exited by itself right after its
        first start).

        Only the first start's crash means the child is broken (a bad setting, a missing file). A child that
        ran and then died — killed, or lost Redis or PostgreSQL while they restart — is restarted; one that
        keeps dying at once is restarted after a growing pause (1 s, 2 s, … ``MAX_BACKOFF_S``), so an outage
        of a few seconds costs a few restarts, not the whole hub.
        """
        now = time.monotonic()
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restart_at = None
                child.start(self.env)
            return True
        if child.process is None or child.process.poll() is None:
            return True
        code = child.process.returncode
        child.kill_leftovers()
        quick = now - child.started_at < CRASH_WINDOW_S
        # a child that exited by itself right after its first start is broken (a bad setting, a missing
        # file); one killed by a signal (kill -9, the OOM killer) is not, and is restarted like any other
        if quick and child.restarts == 0 and code >= 0:
            self.say(f"{child.name} exited with {code} right after start; stopping the hub")
            return False
        child.backoff = min(MAX_BACKOFF_S, max(1.0, child.backoff * 2)) if quick else 0.0
        child.restarts += 1
        pause = f" in {child.backoff:.0f} s" if child.backoff else ""
        self.say(f"{child.name} exited with {code}; restart #{child.restarts}{pause}")
        if child.backoff:
            child.restart_at = now + child.backoff
        else:
            child.start(self.env)
        return True

    def _wait_for_emulators(self, child: Child) -> float | None:
        """Seconds until both emulators answer their health check; None if the child died or Ctrl-C."""
        started = time.monotonic()
        urls = [
            f"{self.settings.ferzl_endpoint}/_control/health",
            f"{self.settings.smev_endpoint}/_control/health",
            f"{self.settings.iszl_endpoint}/_control/health",
        ]
        urls = [u for u in urls if u.startswith("http://127.0.0.1:")]  # real systems are not ours to wait for
        while not self._stopping:
            if child.process is not None and child.process.poll() is not None:
                self.say(
                    f"emulators exited with {child.process.returncode} while starting; see var/log/emulators.log"
                )
                return None
            if all(_answers(u) for u in urls):
                return time.monotonic() - started
            time.sleep(0.3)
        return None

    def stop(self) -> None:
        self.say("stopping…")
        for child in reversed(self.children):
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop in {STOP_TIMEOUT_S:.0f} s; killing it")
                child.signal(signal.SIGKILL)
                child.process.wait()
            # the process group may still hold grandchildren (gunicorn workers, RQ work horses)
            child.signal(signal.SIGKILL)

    def _announce(self) -> None:
        s = self.settings
        base = f"http://{s.host}:{s.port}"
        self.say("РС ЕРЗ hub is up:")
        for line in (
            f"  health   {base}/healthz",
            f"  metrics  {base}/metrics",
            f"  SOAP     {base}/soap/<service>",
            f"  console  {base}/admin/",
            *self.console_notes,
            f"  ФЕРЗЛ    {s.ferzl_endpoint}?wsdl" + ("" if s.ferzl_url else "  (emulator)"),
            f"  СМЭВ 3   {s.smev_endpoint}?wsdl"
            + ("" if s.smev_url else "  (emulator, ЗАГС and СФР behind it)"),
            f"  ИСЗЛ     {s.iszl_endpoint}?wsdl"
            + ("" if s.iszl_url else "  (emulator; the hub pushes events to it)"),
            f"  PKI      {s.pki_dir}",
            "Ctrl-C stops everything.",
        ):
            self.say(line)


def _answers(url: str) -> bool:
    if not url.startswith("http://"):
        return False
    try:
        with urllib.request.urlopen(url, timeout=1) as r:  # noqa: S310 — http:// only, checked above
            return bool(r.status == 200)
    except OSError:
        return False


def _healthy(settings: Settings) -> bool:
    return _answers(f"http://{settings.host}:{settings.port}/healthz")
