"""Signing keys and their certificates, loaded once per process.

Parsing a PEM private key costs about 36 ms (architecture §8), a hundred times the signature itself, so
a key pair is read from disk once and reused; the cache is keyed by path *and* file identity (inode,
size, mtime), so a key replaced on disk — ``rserz certs init`` writes atomically, changing the inode —
is picked up on the next call without a restart.

``cryptography`` reads RSA and EC keys. A GOST private key is not something it can parse; the GOST
engineer registers a loader (``register_private_key_loader``) that returns the key object their
``SignatureAlgorithm`` signs with.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from rserz_soap.xmlsig.algorithms import public_key_from_certificate

__all__ = ["KeyPair", "clear_cache", "load_keypair", "register_private_key_loader"]

PrivateKeyLoader = Callable[[bytes, bytes | None], object | None]
_PRIVATE_KEY_LOADERS: list[PrivateKeyLoader] = []

_Stamp = tuple[int, int, int]  # inode, size, mtime_ns
_CACHE: dict[tuple[str, str], tuple[_Stamp, _Stamp, KeyPair]] = {}
_LOCK: Final = threading.Lock()


@dataclass(frozen=True)
class KeyPair:
    """A private key with the certificate that names it; ``certificate_der`` is what goes on the wire."""

    private_key: object
    certificate: x509.Certificate
    certificate_der: bytes
    certificate_sha256: str = field(init=False)  # lowercase hex, as in participants.json and the DB

    def __post_init__(self) -> None:
        object.__setattr__(self, "certificate_sha256", hashlib.sha256(self.certificate_der).hexdigest())

    @classmethod
    def from_pem(cls, key_pem: bytes, cert_pem: bytes, *, password: bytes | None = None) -> KeyPair:
        """Build a pair from PEM bytes already in memory (emulators, tests); checks that they match."""
        certificate = x509.load_pem_x509_certificate(cert_pem)
        private_key = _load_private_key(key_pem, password)
        _check_match(private_key, certificate)
        return cls(private_key, certificate, certificate.public_bytes(serialization.Encoding.DER))


def register_private_key_loader(loader: PrivateKeyLoader) -> None:
    """Add a parser for keys ``cryptography`` refuses; it gets (PEM bytes, password), returns None if not
    its kind."""
    _PRIVATE_KEY_LOADERS.append(loader)


def load_keypair(
    key_path: str | os.PathLike[str], cert_path: str | os.PathLike[str], *, password: bytes | None = None
) -> KeyPair:
    """The key pair at these paths, parsed only when the files are new or changed since the last call."""
    # abspath, not resolve(): resolving symlinks costs ~200 µs per call, more than the whole cache hit.
    key_file, cert_file = os.path.abspath(key_path), os.path.abspath(cert_path)
    stamps = _stamp(key_file), _stamp(cert_file)
    cache_key = key_file, cert_file
    with _LOCK:
        cached = _CACHE.get(cache_key)
        if cached is not None and (cached[0], cached[1]) == stamps:
            return cached[2]
    pair = KeyPair.from_pem(Path(key_file).read_bytes(), Path(cert_file).read_bytes(), password=password)
    with _LOCK:
        _CACHE[cache_key] = (*stamps, pair)
    return pair


def clear_cache() -> None:
    """Forget every loaded key (tests; a process that wants to drop keys from memory)."""
    with _LOCK:
        _CACHE.clear()


def _stamp(path: str) -> _Stamp:
    info = os.stat(path)
    return info.st_ino, info.st_size, info.st_mtime_ns


def _load_private_key(key_pem: bytes, password: bytes | None) -> object:
    try:
        return serialization.load_pem_private_key(key_pem, password=password)
    except (UnsupportedAlgorithm, ValueError):
        for loader in _PRIVATE_KEY_LOADERS:
            key = loader(key_pem, password)
            if key is not None:
                return key
        raise


def _check_match(private_key: object, certificate: x509.Certificate) -> None:
    """Refuse a key that is not the certificate's: every signature would fail at the peer, far from here.

    RSA and EC keys are compared through ``cryptography``; a key from a registered loader (GOST) is
    compared by its ``public_key()`` against the certificate key a registered public-key loader reads.
    """
    if not isinstance(private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        public = getattr(private_key, "public_key", None)
        if callable(public) and public() != public_key_from_certificate(certificate):
            raise ValueError("the private key does not belong to the certificate")
        return
    try:
        certified = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        return
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if private_key.public_key().public_bytes(*spki) != certified.public_bytes(*spki):
        raise ValueError("the private key does not belong to the certificate")
