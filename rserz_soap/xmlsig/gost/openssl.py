"""OpenSSL's GOST engine (Debian ``libengine-gost-openssl``), where installed: an independent second
implementation to check ours against, used by the cross-check tests and the benchmark.

Never required: the hub signs and verifies with the pure-Python core. The engine is found by asking
``openssl`` itself (``openssl engine gost``, which loads it from the ENGINESDIR OpenSSL was built with),
not by guessing a distribution's path. Every call is a subprocess, which costs milliseconds; that is
fine for tests and for ``openssl speed``, and is why the core does not route through it.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Final

__all__ = ["INSTALL_HINT", "engine_available", "openssl", "sign", "streebog", "verify"]

INSTALL_HINT: Final = "libengine-gost-openssl not installed: apt-get install libengine-gost-openssl"
_TIMEOUT: Final = 60


@functools.cache
def engine_available() -> bool:
    """Whether ``openssl`` is on PATH and can load the ``gost`` engine."""
    if shutil.which("openssl") is None:
        return False
    try:
        done = subprocess.run(
            ["openssl", "engine", "gost", "-c"], capture_output=True, timeout=_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and b"gost2012_256" in done.stdout


def openssl(*args: str, data: bytes | None = None) -> bytes:
    """Run ``openssl ARGS`` (the caller adds ``-engine gost`` where needed); stdout, or CalledProcessError."""
    done = subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=_TIMEOUT, check=True)
    return done.stdout


def _md(size: int) -> str:
    return "-md_gost12_256" if size == 32 else "-md_gost12_512"


def streebog(data: bytes, size: int = 32) -> bytes:
    """The engine's Streebog of ``data`` (raw bytes, as ``openssl dgst -binary`` prints them)."""
    return openssl("dgst", "-engine", "gost", _md(size), "-binary", data=data)


def sign(key_pem: Path, data: bytes, size: int = 32) -> bytes:
    """The engine's raw GOST signature (s ‖ r) of ``data`` with the PKCS#8 key in ``key_pem``."""
    return openssl("dgst", "-engine", "gost", _md(size), "-sign", str(key_pem), data=data)


def verify(public_pem: Path, signature: bytes, data: bytes, size: int = 32) -> bool:
    """Whether the engine accepts ``signature`` over ``data`` with the SPKI (or certificate) in ``public_pem``."""
    with tempfile.TemporaryDirectory() as tmp:
        signature_file = Path(tmp) / "signature.bin"
        signature_file.write_bytes(signature)
        key_args = ["-verify", str(public_pem)]
        if b"CERTIFICATE" in public_pem.read_bytes():
            spki = Path(tmp) / "public.pem"
            spki.write_bytes(openssl("x509", "-engine", "gost", "-in", str(public_pem), "-noout", "-pubkey"))
            key_args = ["-verify", str(spki)]
        try:
            openssl(
                "dgst", "-engine", "gost", _md(size), *key_args, "-signature", str(signature_file), data=data
            )
        except subprocess.CalledProcessError:
            return False
    return True
