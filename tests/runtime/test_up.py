"""`rserz up` as an operator runs it: a fresh var/, healthz within 90 s, Ctrl-C leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthz(port: int) -> tuple[int, dict[str, object]] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status, json.loads(r.read())
    except OSError:
        return None


def _start(var: Path, port: int) -> tuple[subprocess.Popen[str], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSERZ_")}
    env.update(
        RSERZ_VAR_DIR=str(var),
        RSERZ_PORT=str(port),
        RSERZ_EMULATORS_PORT=str(_free_port()),
        RSERZ_DEMO_PERSONS="400",
        RSERZ_WEB_WORKERS="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "rserz_soap", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return proc, []


def _wait_healthy(proc: subprocess.Popen[str], port: int, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"rserz up exited with {proc.returncode}:\n{out}")
        answer = _healthz(port)
        if answer and answer[0] == 200:
            return time.monotonic() - started
        time.sleep(0.5)
    proc.kill()
    pytest.fail(f"/healthz not 200 within {timeout} s")


def _tree(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _postmaster_pid(var: Path) -> int:
    return int((var / "pg" / "postmaster.pid").read_text().split()[0])


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _interrupt_and_collect(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)  # what Ctrl-C delivers to the foreground process
    out, _ = proc.communicate(timeout=60)
    return out


def test_up_serves_healthz_and_ctrl_c_stops_every_child(tmp_path: Path) -> None:
    var = tmp_path / "var"
    port = _free_port()
    proc, _ = _start(var, port)
    took = _wait_healthy(proc, port, 90)
    children = _tree(proc.pid)
    names = " ".join(" ".join(c.cmdline()) for c in children)
    assert "serve" in names and "worker" in names and "scheduler" in names, names
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/soap/identification?wsdl", timeout=5) as r:
        wsdl = r.read().decode()
    assert f"http://127.0.0.1:{port}/soap/identification" in wsdl  # the SOAP endpoint is mounted, keys loaded
    postmaster = _postmaster_pid(var)
    assert psutil.pid_exists(postmaster)
    assert (var / "pki" / "ca" / "cert.pem").exists() and (var / "pki" / "hub" / "key.pem").exists()

    out = _interrupt_and_collect(proc)
    assert proc.returncode == 0, out
    time.sleep(0.5)
    leftovers = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert leftovers == [], f"still running after Ctrl-C: {leftovers}"
    assert not _running(postmaster), f"embedded PostgreSQL still running:\n{out}"
    assert "generating the demo region: 400 persons" in out
    assert took < 90
    # a calm start: no traceback, the startup on one screen, the details in var/log/
    assert "Traceback" not in out, out
    startup = out[: out.index("Ctrl-C stops everything.")].splitlines()
    assert len(startup) <= 30, "\n".join(startup)
    assert (
        "emulators of ФЕРЗЛ, СМЭВ 3 and ИСЗЛ ready" in out
        and "/ferzl?wsdl" in out
        and "/smev3?wsdl" in out
        and "/iszl?wsdl" in out
    )
    assert (var / "log" / "worker.log").stat().st_size > 0 and (var / "log" / "rserz-up.log").exists()

    # A second start reuses var/: no new region, same CA.
    ca_before = (var / "pki" / "ca" / "cert.pem").read_bytes()
    proc, _ = _start(var, port)
    _wait_healthy(proc, port, 90)
    out = _interrupt_and_collect(proc)
    assert proc.returncode == 0, out
    assert "register holds 400 persons" in out and "generating the demo region" not in out
    assert (var / "pki" / "ca" / "cert.pem").read_bytes() == ca_before


def _status(var: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSERZ_")}
    env["RSERZ_VAR_DIR"] = str(var)
    done = subprocess.run(
        [sys.executable, "-m", "rserz_soap", "status"], env=env, capture_output=True, text=True, timeout=60
    )
    return done.stdout + done.stderr


def test_up_serves_the_smev_emulator_and_the_demo_deaths_and_births_flow_on_the_schedule(
    tmp_path: Path,
) -> None:
    var = tmp_path / "var"
    port, emulators = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSERZ_")}
    env.update(
        RSERZ_VAR_DIR=str(var),
        RSERZ_PORT=str(port),
        RSERZ_EMULATORS_PORT=str(emulators),
        RSERZ_DEMO_PERSONS="400",
        RSERZ_WEB_WORKERS="1",
        RSERZ_SMEV_DEMO_EVENTS_PER_HOUR="720",  # one every 5 s, beside the first handful queued at start
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "rserz_soap", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_healthy(proc, port, 120)
        deadline = time.monotonic() + 60
        wsdl = ""
        while time.monotonic() < deadline and "SMEVMessageExchangeService" not in wsdl:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{emulators}/smev3?wsdl", timeout=5) as r:
                    wsdl = r.read().decode()
            except OSError:
                time.sleep(1)
        assert f"http://127.0.0.1:{emulators}/smev3" in wsdl
        deadline = time.monotonic() + 150  # the scheduler polls ЕГР ЗАГС every 30 s
        text = ""
        while time.monotonic() < deadline:
            text = _status(var)
            line = next((x for x in text.splitlines() if "ЗАГС inbox:" in x), "")
            # the poll's own note (last poll …) is written just after its transaction: wait for both
            if (
                "applied" in line
                and "newborns waiting for a policy 0;" not in line
                and "last poll 20" in text
            ):
                break
            time.sleep(5)
        assert "СМЭВ 3      http://127.0.0.1:" in text and "circuit closed" in text, text
        assert "last poll 20" in text and "ЗАГС inbox: applied" in text, text
        assert "newborns waiting for a policy 0;" not in text, text
    finally:
        _interrupt_and_collect(proc)
