"""examples/ and the README's first steps, run as an integrator runs them against a started hub: the
clients import nothing of the hub and print an identified demo person."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.test_up import _free_port, _interrupt_and_collect, _start, _wait_healthy

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SHOWCASE = "Примерова Анна Сергеевна 1985-04-12"


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`rserz up` on a fresh var/ (300 demo persons); yields the environment an operator's shell has."""
    pytest.importorskip("xmlsec", reason="the examples sign with python-xmlsec")
    var = tmp_path_factory.mktemp("examples") / "var"
    port = _free_port()
    proc, _ = _start(var, port)
    try:
        _wait_healthy(proc, port, 120)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RSERZ_")}
        env.update(RSERZ_VAR_DIR=str(var), RSERZ_PORT=str(port))
        yield env
    finally:
        _interrupt_and_collect(proc)


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_examples_import_nothing_of_the_hub() -> None:
    for script in (ROOT / "examples").glob("*.py"):
        assert "rserz_soap" not in script.read_text(encoding="utf-8"), script


def test_demo_persons_lists_the_well_known_ones_first(started: dict[str, str]) -> None:
    out = _run(started, sys.executable, "-m", "rserz_soap", "demo", "persons", "--count", "2", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 5, out  # logs go to the log: only the result is printed
    assert [(r["fam"], r["dr"]) for r in rows[:3]] == [
        ("Примерова", "1985-04-12"),
        ("Образцов", "1979-11-03"),
        ("Пробная", "2016-06-01"),
    ]
    assert all(re.fullmatch(r"\d{16}", r["enp"]) and r["smo"] for r in rows)


def _readme_commands() -> list[str]:
    """The shell lines of the README's "First call" block, as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- first-call -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no first-call block"
    lines = [ln.split("  #")[0].strip() for ln in block.group(1).splitlines()]
    return [ln for ln in lines if ln and not ln.startswith(("#", "make ", ".venv/bin/pip "))]


def test_the_readme_first_call_runs_as_written(started: dict[str, str]) -> None:
    commands = _readme_commands()
    assert any("zeep_client.py" in c for c in commands) and any("raw_client.py" in c for c in commands)
    bin_dir = str(Path(sys.executable).parent)
    for command in commands:
        argv = command.split()
        if argv[0].startswith(".venv/bin/"):  # the same virtualenv the tests run in
            argv[0] = os.path.join(bin_dir, argv[0].removeprefix(".venv/bin/"))
        out = _run(started, *argv)
        if "client.py" in command:
            assert "identified: ЕНП" in out and SHOWCASE in out, out
        print(command, "→", out.strip().splitlines()[0])


@pytest.mark.parametrize("participant", ["mo-450001", "mo-450002", "smo-45001", "smo-45002"])
def test_the_raw_client_signs_as_any_demo_participant(started: dict[str, str], participant: str) -> None:
    """RSA and ECDSA P-256 keys alike (the second СМО and МО of the demo sign with ECDSA)."""
    out = _run(started, sys.executable, "examples/raw_client.py", "--as", participant)
    assert SHOWCASE in out, out


def test_the_zeep_client_by_enp_and_a_stranger(started: dict[str, str]) -> None:
    rows = _run(started, sys.executable, "-m", "rserz_soap", "demo", "persons", "--count", "1", "--json")
    other = json.loads(rows.splitlines()[-1])
    out = _run(started, sys.executable, "examples/zeep_client.py", "--enp", other["enp"], "--as", "smo-45002")
    assert f"ЕНП {other['enp']} {other['fam']}" in out, out
    nobody = subprocess.run(
        [sys.executable, "examples/zeep_client.py", "Никтоев", "Никто", "1900-01-01"],
        cwd=ROOT,
        env=started,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert nobody.returncode == 1 and nobody.stdout.startswith("not identified: 1"), nobody.stdout
