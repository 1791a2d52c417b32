"""GOST R 34.10-2012 keys, signatures and their CryptoPro wire form.

The arithmetic is the standard's (§6.1 signing, §6.2 verification). What the standard leaves to the
protocol is how bytes become numbers, and СМЭВ 3 / CryptoPro / OpenSSL's GOST engine agree on one
convention, pinned by the real signatures in ``tests/data/smev3`` (architecture.md §8):

* the Streebog hash bytes, read as a **little-endian** integer, are α; e = α mod q (1 if that is 0);
* a SignatureValue is **s ‖ r**, each half big-endian and ``curve.size`` bytes long;
* a public key is the 64/128-byte string **x ‖ y**, each half **little-endian**;
* a private key is ``curve.size`` little-endian bytes (as the engine writes it in PKCS#8).

``sign``/``verify`` take the message and hash it with the Streebog of the key's size (256-bit keys with
Streebog-256, 512-bit keys with Streebog-512), which is what the XMLDSig URIs
``gostr34102012-gostr34112012-256`` / ``-512`` mean.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from rserz_soap.xmlsig.gost import ec
from rserz_soap.xmlsig.gost.curves import CRYPTOPRO_XCHA, TC26_512_A, Curve, curve_by_oid
from rserz_soap.xmlsig.gost.streebog import streebog256, streebog512

__all__ = [
    "GostPrivateKey",
    "GostPublicKey",
    "digest_for",
    "generate_private_key",
    "sign_digest",
    "verify_digest",
]


@dataclass(frozen=True)
class GostPublicKey:
    """A point of ``curve``; ``param_oid`` is the parameter-set OID the key was declared with."""

    curve: Curve
    x: int
    y: int
    param_oid: str

    def __post_init__(self) -> None:
        # Refusing off-curve points here means no later code can be fed an invalid-curve point.
        if not self.curve.contains(self.x, self.y):
            raise ValueError("the public key is not a point of its curve")

    @property
    def size(self) -> int:
        return self.curve.size

    @classmethod
    def from_bytes(cls, data: bytes, param_oid: str) -> GostPublicKey:
        """From the CryptoPro ``x ‖ y`` string (each half little-endian) of a certificate's key."""
        curve = curve_by_oid(param_oid)
        if len(data) != 2 * curve.size:
            raise ValueError(f"a {8 * curve.size}-bit public key is {2 * curve.size} bytes, got {len(data)}")
        x = int.from_bytes(data[: curve.size], "little")
        y = int.from_bytes(data[curve.size :], "little")
        return cls(curve, x, y, param_oid)

    def to_bytes(self) -> bytes:
        size = self.curve.size
        return self.x.to_bytes(size, "little") + self.y.to_bytes(size, "little")

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether ``signature`` (s ‖ r) is ours over ``data`` (hashed here with Streebog)."""
        return verify_digest(self, digest_for(self.size, data), signature)


@dataclass(frozen=True)
class GostPrivateKey:
    curve: Curve
    d: int = field(repr=False)
    param_oid: str
    _public: GostPublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.d < self.curve.q:
            raise ValueError("the private key is out of range for its curve")
        point = ec.multiply_generator(self.curve, self.d)
        if point is None:  # pragma: no cover - d < q on a prime-order subgroup
            raise ValueError("degenerate private key")
        object.__setattr__(self, "_public", GostPublicKey(self.curve, point[0], point[1], self.param_oid))

    @property
    def size(self) -> int:
        return self.curve.size

    def public_key(self) -> GostPublicKey:
        return self._public

    @classmethod
    def from_bytes(cls, data: bytes, param_oid: str) -> GostPrivateKey:
        """From ``curve.size`` little-endian bytes (the engine's PKCS#8 content)."""
        curve = curve_by_oid(param_oid)
        if len(data) != curve.size:
            raise ValueError(f"a {8 * curve.size}-bit private key is {curve.size} bytes, got {len(data)}")
        return cls(curve, int.from_bytes(data, "little") % curve.q, param_oid)

    def to_bytes(self) -> bytes:
        return self.d.to_bytes(self.curve.size, "little")

    def sign(self, data: bytes) -> bytes:
        """s ‖ r over ``data`` (hashed here with Streebog)."""
        return sign_digest(self, digest_for(self.size, data))


def generate_private_key(param_oid: str = CRYPTOPRO_XCHA) -> GostPrivateKey:
    """A fresh key; the default set is the one СМЭВ 3 certificates use (CryptoPro-A / XchA)."""
    curve = curve_by_oid(param_oid)
    return GostPrivateKey(curve, secrets.randbelow(curve.q - 1) + 1, param_oid)


def default_param_oid(size: int) -> str:
    return CRYPTOPRO_XCHA if size == 32 else TC26_512_A


def digest_for(size: int, data: bytes) -> bytes:
    """The Streebog that goes with a key of ``size`` bytes."""
    return streebog256(data) if size == 32 else streebog512(data)


def _e(curve: Curve, digest: bytes) -> int:
    e = int.from_bytes(digest, "little") % curve.q
    return e or 1


def sign_digest(key: GostPrivateKey, digest: bytes, *, k: int | None = None) -> bytes:
    """§6.1 over a ready hash. ``k`` is for the standard's worked examples only: never pass it."""
    curve = key.curve
    q = curve.q
    e = _e(curve, digest)
    while True:
        nonce = k if k is not None else secrets.randbelow(q - 1) + 1
        point = ec.multiply_generator(curve, nonce)
        r = point[0] % q if point is not None else 0
        s = (r * key.d + nonce * e) % q
        if r and s:
            return s.to_bytes(curve.size, "big") + r.to_bytes(curve.size, "big")
        if k is not None:
            raise ValueError("this k gives r = 0 or s = 0")


def verify_digest(key: GostPublicKey, digest: bytes, signature: bytes) -> bool:
    """§6.2 over a ready hash; False for anything malformed (wrong length, r or s out of range)."""
    curve = key.curve
    size, q = curve.size, curve.q
    if len(signature) != 2 * size:
        return False
    s = int.from_bytes(signature[:size], "big")
    r = int.from_bytes(signature[size:], "big")
    if not (0 < r < q and 0 < s < q):
        return False
    v = pow(_e(curve, digest), -1, q)
    point = ec.shamir(curve, s * v % q, (key.x, key.y), -r * v % q)
    return point is not None and point[0] % q == r
