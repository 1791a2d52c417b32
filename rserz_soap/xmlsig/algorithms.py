"""Digest and signature algorithms, registered by their XMLDSig URI.

The signature core never names an algorithm: it looks the URI of ds:DigestMethod / ds:SignatureMethod
up here. RSA-SHA256 and ECDSA-SHA256 (through ``cryptography``) are registered on import; GOST R
34.10-2012 with Streebog is added later by registering objects that satisfy the two protocols below —
its keys are not ``cryptography`` objects, which is why keys are typed ``object`` and every algorithm
says itself which keys it ``accepts``. ``cryptography`` cannot read a GOST public key from a certificate
either, so certificate-to-key conversion is pluggable too (``register_public_key_loader``).

Wire format notes:
* XMLDSig ECDSA SignatureValue is ``r || s``, each padded to the curve's byte length (RFC 4050 /
  XMLDSig 1.1 §6.4.3), not the DER ``SEQUENCE`` that ``cryptography`` produces and expects.
* SHA-1 is registered for reading old peers' digests only; it is never chosen when signing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

__all__ = [
    "ECDSA_SHA256",
    "MIN_RSA_KEY_BITS",
    "RSA_SHA256",
    "SHA1",
    "SHA256",
    "DigestAlgorithm",
    "SignatureAlgorithm",
    "UnknownAlgorithm",
    "get_digest",
    "get_signature_algorithm",
    "load_der_certificate",
    "public_key_from_certificate",
    "register_digest",
    "register_public_key_loader",
    "register_signature_algorithm",
    "signature_algorithm_for_key",
]

SHA256: Final = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1: Final = "http://www.w3.org/2000/09/xmldsig#sha1"
RSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"

# Below this an RSA signature is refused both ways: 1024-bit keys are factorable by a motivated attacker.
MIN_RSA_KEY_BITS: Final = 2048


class UnknownAlgorithm(LookupError):
    """Nothing is registered under this URI (maps to the ``unsupported_algorithm`` code)."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.uri = uri


class DigestAlgorithm(Protocol):
    """A ds:DigestMethod. ``for_signing`` False means "verify what old peers send, never produce it"."""

    @property
    def uri(self) -> str: ...

    @property
    def for_signing(self) -> bool: ...

    def digest(self, data: bytes) -> bytes: ...


class SignatureAlgorithm(Protocol):
    """A ds:SignatureMethod over the canonical SignedInfo octets.

    ``sign`` gets a private key, ``verify`` a public key; ``accepts`` answers for either, so the core
    can pick an algorithm for a signing key and refuse a certificate whose key cannot match the URI.
    ``verify`` returns False for any signature it cannot validate (wrong length, bad encoding) rather
    than raising: to a verifier every such input is simply not a valid signature.
    """

    @property
    def uri(self) -> str: ...

    def sign(self, key: object, data: bytes) -> bytes: ...

    def verify(self, public_key: object, signature: bytes, data: bytes) -> bool: ...

    def accepts(self, key: object) -> bool: ...


# --- digests --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _HashlibDigest:
    uri: str
    name: str
    for_signing: bool = True

    def digest(self, data: bytes) -> bytes:
        constructor = _HASHLIB_CONSTRUCTORS.get(self.name)  # hashlib.new's name lookup, once per digest
        return (constructor(data) if constructor is not None else hashlib.new(self.name, data)).digest()


_HASHLIB_CONSTRUCTORS: Final[dict[str, Callable[[bytes], Any]]] = {
    "sha256": hashlib.sha256,
    "sha1": hashlib.sha1,
}


_DIGESTS: dict[str, DigestAlgorithm] = {}


def register_digest(digest: DigestAlgorithm, *, replace: bool = False) -> None:
    """Add a digest method; a second registration of a URI is an error unless ``replace`` says it is meant."""
    if digest.uri in _DIGESTS and not replace:
        raise ValueError(f"a digest is already registered for {digest.uri}")
    _DIGESTS[digest.uri] = digest


def get_digest(uri: str) -> DigestAlgorithm:
    try:
        return _DIGESTS[uri]
    except KeyError:
        raise UnknownAlgorithm(uri) from None


# --- signatures -----------------------------------------------------------------------------------------


def _is_rsa(key: object) -> bool:
    return isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey) and key.key_size >= MIN_RSA_KEY_BITS


@dataclass(frozen=True)
class _RsaPkcs1:
    uri: str
    hash_algorithm: hashes.HashAlgorithm

    def sign(self, key: object, data: bytes) -> bytes:
        if not isinstance(key, rsa.RSAPrivateKey) or not self.accepts(key):
            raise TypeError(f"{self.uri} needs an RSA private key of at least {MIN_RSA_KEY_BITS} bits")
        return key.sign(data, padding.PKCS1v15(), self.hash_algorithm)

    def verify(self, public_key: object, signature: bytes, data: bytes) -> bool:
        if not isinstance(public_key, rsa.RSAPublicKey) or not self.accepts(public_key):
            return False
        try:
            public_key.verify(signature, data, padding.PKCS1v15(), self.hash_algorithm)
        except InvalidSignature:
            return False
        return True

    def accepts(self, key: object) -> bool:
        return _is_rsa(key)


@dataclass(frozen=True)
class _Ecdsa:
    uri: str
    hash_algorithm: hashes.HashAlgorithm

    def sign(self, key: object, data: bytes) -> bytes:
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError(f"{self.uri} needs an EC private key")
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(self.hash_algorithm)))
        size = _coordinate_bytes(key.curve)
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def verify(self, public_key: object, signature: bytes, data: bytes) -> bool:
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            return False
        size = _coordinate_bytes(public_key.curve)
        if len(signature) != 2 * size:
            return False
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        try:
            public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(self.hash_algorithm))
        except (InvalidSignature, ValueError):
            return False
        return True

    def accepts(self, key: object) -> bool:
        return isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey)


def _coordinate_bytes(curve: ec.EllipticCurve) -> int:
    return (curve.key_size + 7) // 8


_SIGNATURES: dict[str, SignatureAlgorithm] = {}


def register_signature_algorithm(algorithm: SignatureAlgorithm, *, replace: bool = False) -> None:
    """Add a signature method. Registration order is the preference order when a key fits several."""
    if algorithm.uri in _SIGNATURES and not replace:
        raise ValueError(f"a signature algorithm is already registered for {algorithm.uri}")
    _SIGNATURES[algorithm.uri] = algorithm


def get_signature_algorithm(uri: str) -> SignatureAlgorithm:
    try:
        return _SIGNATURES[uri]
    except KeyError:
        raise UnknownAlgorithm(uri) from None


def signature_algorithm_for_key(key: object) -> SignatureAlgorithm:
    """The first registered algorithm that accepts ``key``, so callers sign without naming a URI."""
    for algorithm in _SIGNATURES.values():
        if algorithm.accepts(key):
            return algorithm
    raise TypeError(f"no registered signature algorithm accepts a {type(key).__name__}")


# --- certificates ---------------------------------------------------------------------------------------

PublicKeyLoader = Callable[[x509.Certificate], object | None]
_PUBLIC_KEY_LOADERS: list[PublicKeyLoader] = []


def register_public_key_loader(loader: PublicKeyLoader) -> None:
    """Teach ``public_key_from_certificate`` a key type ``cryptography`` cannot parse (GOST).

    A loader returns None for certificates that are not its kind.
    """
    _PUBLIC_KEY_LOADERS.append(loader)


def load_der_certificate(der: bytes) -> x509.Certificate:
    """A DER certificate from a message; anything ``cryptography`` cannot read is a ``ValueError``.

    ``load_der_x509_certificate`` raises ``x509.InvalidVersion`` (not a ValueError) for a certificate whose
    version field is not v1/v3: one flipped bit of a token. Callers that catch ValueError for "not a
    certificate" would otherwise let it escape as an internal error (found by the differential fuzzer).
    """
    try:
        return x509.load_der_x509_certificate(der)
    except x509.InvalidVersion as exc:
        raise ValueError(f"not an X.509 certificate: {exc}") from None


def public_key_from_certificate(certificate: x509.Certificate) -> object:
    """The certificate's public key in whatever form the matching SignatureAlgorithm verifies with."""
    try:
        return certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        for loader in _PUBLIC_KEY_LOADERS:
            key = loader(certificate)
            if key is not None:
                return key
        raise


register_digest(_HashlibDigest(SHA256, "sha256"))
register_digest(_HashlibDigest(SHA1, "sha1", for_signing=False))
register_signature_algorithm(_RsaPkcs1(RSA_SHA256, hashes.SHA256()))
register_signature_algorithm(_Ecdsa(ECDSA_SHA256, hashes.SHA256()))
