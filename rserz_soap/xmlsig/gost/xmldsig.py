"""GOST R 34.10-2012 / Streebog in the XMLDSig registries: what makes ``dsig.sign``/``verify`` GOST-aware.

Registered on import of ``rserz_soap.xmlsig.gost`` (the package ``rserz_soap.xmlsig`` imports it, so
any user of the signature core has it):

* digests ``urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-256`` / ``-512`` — the raw
  Streebog output, base64 in ds:DigestValue as it comes (not reversed);
* signature methods ``…:gostr34102012-gostr34112012-256`` / ``-512`` over ``GostPrivateKey`` /
  ``GostPublicKey`` (256-bit keys only with the -256 URI, 512-bit only with -512);
* a certificate public-key loader (``algorithms.register_public_key_loader``), a PEM private-key loader
  (``keys.register_private_key_loader``) and issuer-signature verifiers for certificates and CRLs signed
  with GOST (``trust.register_issuer_signature_verifier``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cryptography import x509

from rserz_soap.xmlsig.algorithms import (
    register_digest,
    register_public_key_loader,
    register_signature_algorithm,
)
from rserz_soap.xmlsig.gost.asn1 import (
    SIGNATURE_256_OID,
    SIGNATURE_512_OID,
    certificate_public_key,
    private_key_from_pem,
    verify_signed_by,
)
from rserz_soap.xmlsig.gost.sign import GostPrivateKey, GostPublicKey, digest_for, sign_digest, verify_digest
from rserz_soap.xmlsig.gost.streebog import streebog256, streebog512
from rserz_soap.xmlsig.keys import register_private_key_loader
from rserz_soap.xmlsig.trust import IssuerSignatureVerifier, register_issuer_signature_verifier

__all__ = ["GOST_256", "GOST_512", "STREEBOG_256", "STREEBOG_512", "register"]

STREEBOG_256: Final = "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-256"
STREEBOG_512: Final = "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-512"
GOST_256: Final = "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256"
GOST_512: Final = "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-512"


@dataclass(frozen=True)
class _Streebog:
    uri: str
    size: int
    for_signing: bool = True

    def digest(self, data: bytes) -> bytes:
        return streebog256(data) if self.size == 32 else streebog512(data)


@dataclass(frozen=True)
class _GostSignature:
    uri: str
    size: int
    digest: str  # the references' digest a signer uses with it (Streebog of the same size)

    def sign(self, key: object, data: bytes) -> bytes:
        if not isinstance(key, GostPrivateKey) or key.size != self.size:
            raise TypeError(f"{self.uri} needs a {8 * self.size}-bit GOST private key")
        return sign_digest(key, digest_for(self.size, data))

    def verify(self, public_key: object, signature: bytes, data: bytes) -> bool:
        if not isinstance(public_key, GostPublicKey) or public_key.size != self.size:
            return False
        return verify_digest(public_key, digest_for(self.size, data), signature)

    def accepts(self, key: object) -> bool:
        return isinstance(key, GostPrivateKey | GostPublicKey) and key.size == self.size


def _issuer_verifier(oid: str) -> IssuerSignatureVerifier:
    def verify(issuer: x509.Certificate, tbs: bytes, signature: bytes) -> bool:
        key = certificate_public_key(issuer)
        return key is not None and verify_signed_by(key, oid, tbs, signature)

    return verify


_registered = False


def register() -> None:
    """Idempotent: registers everything listed in the module docstring once per process."""
    global _registered
    if _registered:
        return
    _registered = True
    register_digest(_Streebog(STREEBOG_256, 32))
    register_digest(_Streebog(STREEBOG_512, 64))
    register_signature_algorithm(_GostSignature(GOST_256, 32, STREEBOG_256))
    register_signature_algorithm(_GostSignature(GOST_512, 64, STREEBOG_512))
    register_public_key_loader(certificate_public_key)
    register_private_key_loader(private_key_from_pem)
    for oid in (SIGNATURE_256_OID, SIGNATURE_512_OID):
        register_issuer_signature_verifier(oid, _issuer_verifier(oid))
