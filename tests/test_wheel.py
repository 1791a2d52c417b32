"""The hub as an operator installs it: a wheel built from the checkout, installed into a fresh virtualenv,
and `rserz up` from there — outside the checkout — starts with every data file it needs (contract,
migrations, НСИ, ФЛК directory, buffer rules, console templates, emulator contracts)."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.runtime.test_up import _free_port, _interrupt_and_collect, _wait_healthy

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
#: every kind of data file the hub reads at run time, as a path inside the wheel
DATA = (
    "rserz_soap/soap/contract/wsdl/identification.wsdl",
    "rserz_soap/soap/contract/xsd/common.xsd",
    "rserz_soap/db/migrations/env.py",
    "rserz_soap/db/migrations/script.py.mako",
    "rserz_soap/db/migrations/versions/0001_register_schema.py",
    "rserz_soap/data/nsi/F003.xml",
    "rserz_soap/data/flk/errors.xml",
    "rserz_soap/admin/templates/base.html",
    "rserz_soap/emulators/ferzl/contract/xsd/commonTypes.xsd",
    "rserz_soap/iszl/contract/iszl.wsdl",
    "rserz_soap/emulators/smev3/contract/smev-message-exchange.wsdl",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-w",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert "is absent from the `packages` configuration" not in build.stdout + build.stderr
    (found,) = out.glob("rserz_soap-*.whl")
    return found


def test_the_wheel_carries_every_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [d for d in DATA if d not in names]
    assert not missing, missing
    assert not [n for n in names if n.startswith(("tests/", "bench/", "var/", "examples/"))]
    assert any(n.startswith("rserz_soap/data/buffer/") for n in names)


def test_rserz_up_from_the_wheel_in_a_fresh_virtualenv(wheel: Path, tmp_path: Path) -> None:
    """The fresh virtualenv gets the wheel itself; its dependencies come from this environment's
    site-packages through a .pth (the test must not download anything), which is not a site directory, so
    the checkout's editable install does not come along."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "zz_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    where = subprocess.run(
        [str(python), "-c", "import rserz_soap; print(rserz_soap.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout.strip()
    assert where.startswith(purelib), where  # the installed copy, not the checkout

    work = tmp_path / "operator"
    work.mkdir()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSERZ_") and k != "PYTHONPATH"}
    env.update(
        RSERZ_PORT=str(port),
        RSERZ_EMULATORS_PORT=str(_free_port()),
        RSERZ_DEMO_PERSONS="200",
        RSERZ_WEB_WORKERS="1",
        PATH=f"{env_dir / 'bin'}:{env.get('PATH', '')}",
    )
    proc = subprocess.Popen(
        [str(env_dir / "bin" / "rserz"), "up"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_healthy(proc, port, 150)
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/soap/identification?wsdl", timeout=5) as r:
            assert b"identifyPerson" in r.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/xsd/common.xsd", timeout=5) as r:
            assert b"FaultDetail" in r.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login", timeout=5) as r:
            assert r.status == 200
    finally:
        out = _interrupt_and_collect(proc)
    assert proc.returncode == 0, out
    assert (
        work / "var" / "pki" / "ca" / "cert.pem"
    ).exists()  # var/ beside the operator, not in site-packages
    assert not (Path(purelib) / "var").exists()
    assert "schema at revision" in out and "generating the demo region: 200 persons" in out, out
