"""An optional fast Streebog: OpenSSL's GOST engine in-process (ctypes), where it is installed.

The pure-Python Streebog costs about 1.6 ms per KB (``docs/benchmarks.md`` "GOST"), and a СМЭВ message
digests every signed element more than once on its way (the sender's signature, СМЭВ's over the whole
delivery, each checked again by the receiver): on a 5 KB delivery hashing is four fifths of the work.
Debian's ``libengine-gost-openssl`` does it in microseconds. It is used when present and it agrees with
the pure implementation on a self-test at load; otherwise, or with ``RSERZ_GOST_OPENSSL=0``, nothing
changes. Never required: the signature arithmetic stays ours either way.

``cryptography`` links its own OpenSSL, so loading the engine into the system ``libcrypto`` touches
nothing else in the process; the engine is passed explicitly to ``EVP_Digest`` and never made a default.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Digest = Callable[[bytes], bytes]


class _Engine:
    def __init__(self) -> None:
        name = ctypes.util.find_library("crypto")
        if name is None:
            raise OSError("libcrypto not found")
        lib = ctypes.CDLL(name)
        vp, cp = ctypes.c_void_p, ctypes.c_char_p
        for function, restype, argtypes in (
            ("ENGINE_by_id", vp, [cp]),
            ("ENGINE_init", ctypes.c_int, [vp]),
            ("OBJ_txt2nid", ctypes.c_int, [cp]),
            ("ENGINE_get_digest", vp, [vp, ctypes.c_int]),
            ("EVP_Digest", ctypes.c_int, [cp, ctypes.c_size_t, cp, ctypes.POINTER(ctypes.c_uint), vp, vp]),
        ):
            getattr(lib, function).restype = restype
            getattr(lib, function).argtypes = argtypes
        engine = lib.ENGINE_by_id(b"gost")
        if not engine or lib.ENGINE_init(engine) != 1:
            raise OSError("the gost engine does not load")
        self.lib, self.engine = lib, engine
        self.mds = {}
        for size, md_name in ((32, b"md_gost12_256"), (64, b"md_gost12_512")):
            md = lib.ENGINE_get_digest(engine, lib.OBJ_txt2nid(md_name))
            if not md:
                raise OSError(f"the gost engine has no {md_name.decode()}")
            self.mds[size] = md

    def digest(self, size: int, data: bytes) -> bytes:
        out = ctypes.create_string_buffer(64)
        length = ctypes.c_uint(64)
        if self.lib.EVP_Digest(data, len(data), out, ctypes.byref(length), self.mds[size], self.engine) != 1:
            raise OSError("EVP_Digest failed")
        return out.raw[: length.value]


def load(pure256: Digest, pure512: Digest) -> tuple[Digest, Digest] | None:
    """(Streebog-256, Streebog-512) through the engine, or None when absent, disabled or disagreeing."""
    if os.environ.get("RSERZ_GOST_OPENSSL", "1").lower() in ("0", "no", "off", "false"):
        return None
    try:
        engine = _Engine()
    except (OSError, AttributeError) as exc:
        log.debug("no fast Streebog: %s", exc)
        return None

    def d256(data: bytes) -> bytes:
        return engine.digest(32, bytes(data))

    def d512(data: bytes) -> bytes:
        return engine.digest(64, bytes(data))

    samples: list[Any] = [
        b"",
        b"012345678901234567890123456789012345678901234567890123456789012",
        bytes(range(256)) * 3,
    ]
    try:
        agree = all(d256(s) == pure256(s) and d512(s) == pure512(s) for s in samples)
    except OSError:
        agree = False
    if not agree:
        log.warning("OpenSSL's GOST engine disagrees with the pure Streebog: not used")
        return None
    return d256, d512
