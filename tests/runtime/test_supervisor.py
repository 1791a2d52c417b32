"""The supervisor's restart rules, with real child processes (the fault suite found both bugs):

* a child that dies right after its *first* start stops the hub (it is broken); one that dies again right
  after a *restart* — Redis or PostgreSQL are restarting — is restarted after a growing pause instead;
* a child killed with -9 leaves nothing behind in its session (gunicorn workers holding the port kept the
  restarted emulators from binding it)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psutil

from rserz_soap.config import Settings
from rserz_soap.runtime.supervisor import CRASH_WINDOW_S, Child, Supervisor


def _supervisor(settings: Settings, said: list[str]) -> Supervisor:
    return Supervisor(settings, dict(os.environ), say=said.append)


def _exited(child: Child) -> None:
    assert child.process is not None
    child.process.wait(timeout=30)


def test_a_crash_right_after_the_first_start_stops_the_hub(settings: Settings) -> None:
    said: list[str] = []
    sup = _supervisor(settings, said)
    child = Child("worker", [sys.executable, "-c", "raise SystemExit(3)"])
    child.start(sup.env)
    _exited(child)
    assert sup.watch(child) is False
    assert said == ["worker exited with 3 right after start; stopping the hub"]


def test_a_child_killed_right_after_its_first_start_is_restarted(settings: Settings) -> None:
    """A signal is not a broken setting: the fault suite's kill -9 of a fresh worker stopped the hub."""
    said: list[str] = []
    sup = _supervisor(settings, said)
    child = Child("worker", [sys.executable, "-c", "import time; time.sleep(30)"])
    child.start(sup.env)
    first = child.process
    assert first is not None
    os.kill(first.pid, 9)
    _exited(child)
    assert sup.watch(child) is True  # the hub stays up …
    assert said == ["worker exited with -9; restart #1 in 1 s"]
    time.sleep(1.1)
    assert sup.watch(child) is True
    assert child.process is not first and child.restarts == 1  # … and the worker is back
    child.signal(9)
    _exited(child)


def test_a_child_that_ran_and_died_is_restarted_at_once(settings: Settings) -> None:
    said: list[str] = []
    sup = _supervisor(settings, said)
    child = Child("scheduler", [sys.executable, "-c", "raise SystemExit(1)"])
    child.start(sup.env)
    _exited(child)
    first = child.process
    child.started_at -= CRASH_WINDOW_S + 1  # it had been running for a while
    assert sup.watch(child) is True
    assert child.process is not first and child.restarts == 1 and child.backoff == 0
    assert said == ["scheduler exited with 1; restart #1"]


def test_a_restarted_child_that_dies_at_once_again_is_retried_with_a_growing_pause(
    settings: Settings,
) -> None:
    said: list[str] = []
    sup = _supervisor(settings, said)
    child = Child("worker", [sys.executable, "-c", "raise SystemExit(1)"], restarts=1)  # Redis is away
    child.start(sup.env)
    _exited(child)
    assert sup.watch(child) is True  # the hub stays up
    assert said[-1] == "worker exited with 1; restart #2 in 1 s" and child.restart_at is not None
    waiting = child.process
    assert sup.watch(child) is True and child.process is waiting  # not before its pause is over
    time.sleep(1.1)
    assert sup.watch(child) is True and child.process is not waiting  # started again
    _exited(child)
    assert sup.watch(child) is True
    assert said[-1] == "worker exited with 1; restart #3 in 2 s"
    child.restart_at = time.monotonic()
    child.argv = [sys.executable, "-c", "import time; time.sleep(30)"]  # Redis is back
    assert sup.watch(child) is True
    assert child.process is not None and child.process.poll() is None
    child.signal(9)
    _exited(child)


def test_what_a_killed_child_left_in_its_session_is_killed_before_the_restart(
    settings: Settings, tmp_path: Path
) -> None:
    said: list[str] = []
    sup = _supervisor(settings, said)
    pidfile = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    child = Child("emulators", [sys.executable, "-c", code])
    child.start(sup.env)
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = psutil.Process(int(pidfile.read_text()))
    assert child.process is not None
    os.kill(child.process.pid, 9)  # kill -9 the child only, as the fault suite does
    _exited(child)
    assert grandchild.is_running() and grandchild.status() != psutil.STATUS_ZOMBIE  # orphaned, alive
    child.started_at -= CRASH_WINDOW_S + 1
    child.argv = [sys.executable, "-c", "import time; time.sleep(30)"]
    assert sup.watch(child) is True
    try:
        grandchild.wait(timeout=10)
    except psutil.TimeoutExpired:
        raise AssertionError("the killed child's orphan still runs") from None
    child.signal(9)
    _exited(child)
