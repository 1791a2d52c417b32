"""GOST keys and certificates in DER: SubjectPublicKeyInfo, PKCS#8, X.509 and CRLs (via asn1crypto).

``cryptography`` parses a GOST certificate but not its key, and cannot sign one, so the parts it lacks
are encoded here with asn1crypto — a pure-Python, long-maintained ASN.1 library with the X.509 and
PKCS#8 structures already defined; only the GOST algorithm parameters (RFC 9215 §4.2) are added.

Formats follow what OpenSSL's GOST engine (``libengine-gost-openssl``) writes and CryptoPro issues:

* SubjectPublicKeyInfo: algorithm ``1.2.643.7.1.1.1.1`` (256) / ``.1.2`` (512) with parameters
  ``SEQUENCE { publicKeyParamSet OID, digestParamSet OID OPTIONAL }`` — the digest OID is present for
  the CryptoPro sets and 512-bit sets A/B and absent for the tc26 256-bit sets and 512-C, as the engine
  does (RFC 9215 §4.2.2); the key is an OCTET STRING of x ‖ y, each half little-endian, in the BIT STRING.
* PKCS#8: the same AlgorithmIdentifier; ``privateKey`` holds the key's little-endian bytes directly
  (the engine's default). Reading also accepts an inner OCTET STRING or INTEGER (older engines, other
  tools) — but not CryptoPro's masked container format, which needs CryptoPro's own export.
* Certificates and CRLs are signed with ``1.2.643.7.1.1.3.2`` / ``.3.3``: Streebog of the TBS bytes,
  the signature s ‖ r in the BIT STRING (RFC 9215 §3.1), the same convention as XMLDSig.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from asn1crypto import core
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from rserz_soap.xmlsig.gost.curves import (
    CRYPTOPRO_A,
    CRYPTOPRO_B,
    CRYPTOPRO_C,
    CRYPTOPRO_XCHA,
    CRYPTOPRO_XCHB,
    TC26_512_A,
    TC26_512_B,
    UnknownCurve,
)
from rserz_soap.xmlsig.gost.sign import GostPrivateKey, GostPublicKey, digest_for, verify_digest

__all__ = [
    "DIGEST_256_OID",
    "DIGEST_512_OID",
    "KEY_256_OID",
    "KEY_512_OID",
    "SIGNATURE_256_OID",
    "SIGNATURE_512_OID",
    "CertificateProfile",
    "build_certificate",
    "build_crl",
    "certificate_public_key",
    "private_key_from_pem",
    "private_key_pem",
    "private_key_to_pkcs8",
    "public_key_from_spki",
    "public_key_pem",
    "public_key_to_spki",
    "verify_signed_by",
]

KEY_256_OID: Final = "1.2.643.7.1.1.1.1"
KEY_512_OID: Final = "1.2.643.7.1.1.1.2"
DIGEST_256_OID: Final = "1.2.643.7.1.1.2.2"
DIGEST_512_OID: Final = "1.2.643.7.1.1.2.3"
SIGNATURE_256_OID: Final = "1.2.643.7.1.1.3.2"
SIGNATURE_512_OID: Final = "1.2.643.7.1.1.3.3"

# Sets whose AlgorithmIdentifier carries the digest OID (what the engine writes, RFC 9215 §4.2.2).
_WITH_DIGEST_PARAM: Final = frozenset(
    {CRYPTOPRO_A, CRYPTOPRO_B, CRYPTOPRO_C, CRYPTOPRO_XCHA, CRYPTOPRO_XCHB, TC26_512_A, TC26_512_B}
)
_PEM_PRIVATE: Final = re.compile(rb"-----BEGIN PRIVATE KEY-----(.+?)-----END PRIVATE KEY-----", re.DOTALL)


class _GostKeyParameters(core.Sequence):
    """GostR3410-2012-PublicKeyParameters (RFC 9215 §4.2.2); encryptionParamSet is read, never written."""

    _fields = [  # noqa: RUF012  # asn1crypto's declarative API
        ("public_key_param_set", core.ObjectIdentifier),
        ("digest_param_set", core.ObjectIdentifier, {"optional": True}),
        ("encryption_param_set", core.ObjectIdentifier, {"optional": True}),
    ]


class _AlgorithmIdentifier(core.Sequence):
    _fields = [  # noqa: RUF012
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class _SubjectPublicKeyInfo(core.Sequence):
    _fields = [  # noqa: RUF012
        ("algorithm", _AlgorithmIdentifier),
        ("public_key", core.OctetBitString),
    ]


class _PrivateKeyInfo(core.Sequence):
    _fields = [  # noqa: RUF012
        ("version", core.Integer),
        ("private_key_algorithm", _AlgorithmIdentifier),
        ("private_key", core.OctetString),
        ("attributes", core.Any, {"implicit": 0, "optional": True}),
    ]


# --- keys -----------------------------------------------------------------------------------------------


def _key_algorithm(size: int) -> str:
    return KEY_256_OID if size == 32 else KEY_512_OID


def _algorithm_identifier(size: int, param_oid: str) -> _AlgorithmIdentifier:
    params = {"public_key_param_set": param_oid}
    if param_oid in _WITH_DIGEST_PARAM:
        params["digest_param_set"] = DIGEST_256_OID if size == 32 else DIGEST_512_OID
    return _AlgorithmIdentifier({"algorithm": _key_algorithm(size), "parameters": _GostKeyParameters(params)})


def _param_oid(algorithm: _AlgorithmIdentifier) -> tuple[str, int] | None:
    """(parameter set OID, key size) of a GOST 2012 AlgorithmIdentifier; None for other algorithms."""
    oid = algorithm["algorithm"].dotted
    if oid not in (KEY_256_OID, KEY_512_OID):
        return None
    raw = algorithm["parameters"]
    if not isinstance(raw, core.Any) or raw.contents is None:
        raise ValueError("GOST key without its parameter set")
    params = _GostKeyParameters.load(raw.dump())
    return params["public_key_param_set"].dotted, 32 if oid == KEY_256_OID else 64


def public_key_to_spki(key: GostPublicKey) -> bytes:
    info = _SubjectPublicKeyInfo(
        {
            "algorithm": _algorithm_identifier(key.size, key.param_oid),
            "public_key": core.OctetString(key.to_bytes()).dump(),
        }
    )
    return bytes(info.dump())


def public_key_from_spki(der: bytes) -> GostPublicKey | None:
    """The key of a DER SubjectPublicKeyInfo; None when it is not a GOST R 34.10-2012 key."""
    info = _SubjectPublicKeyInfo.load(der)
    found = _param_oid(info["algorithm"])
    if found is None:
        return None
    param_oid, size = found
    point = core.OctetString.load(info["public_key"].native).native
    key = GostPublicKey.from_bytes(bytes(point), param_oid)
    if key.size != size:
        raise ValueError(f"a {8 * size}-bit key algorithm with a {8 * key.size}-bit parameter set")
    return key


def certificate_public_key(certificate: x509.Certificate) -> GostPublicKey | None:
    """The GOST key of a certificate (the ``register_public_key_loader`` hook); None for other keys."""
    spki = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))["tbs_certificate"][
        "subject_public_key_info"
    ]
    try:
        return public_key_from_spki(spki.dump())
    except UnknownCurve:
        return None


def public_key_pem(key: GostPublicKey) -> bytes:
    """``-----BEGIN PUBLIC KEY-----`` (SPKI), what ``openssl dgst -verify`` takes."""
    return _pem("PUBLIC KEY", public_key_to_spki(key))


def private_key_to_pkcs8(key: GostPrivateKey) -> bytes:
    info = _PrivateKeyInfo(
        {
            "version": 0,
            "private_key_algorithm": _algorithm_identifier(key.size, key.param_oid),
            "private_key": key.to_bytes(),
        }
    )
    return bytes(info.dump())


def private_key_pem(key: GostPrivateKey) -> bytes:
    return _pem("PRIVATE KEY", private_key_to_pkcs8(key))


def private_key_from_pkcs8(der: bytes) -> GostPrivateKey | None:
    info = _PrivateKeyInfo.load(der)
    found = _param_oid(info["private_key_algorithm"])
    if found is None:
        return None
    param_oid, size = found
    raw = bytes(info["private_key"].native)
    if len(raw) != size:  # wrapped: an inner OCTET STRING (little-endian) or INTEGER (big-endian)
        inner = core.Asn1Value.load(raw)
        if isinstance(inner, core.OctetString):
            raw = bytes(inner.native)
        elif isinstance(inner, core.Integer):
            raw = int(inner.native).to_bytes(size, "little")
        else:
            raise ValueError("unrecognised GOST private key encoding (a CryptoPro container?)")
    return GostPrivateKey.from_bytes(raw, param_oid)


def private_key_from_pem(pem: bytes, password: bytes | None = None) -> GostPrivateKey | None:
    """The ``register_private_key_loader`` hook: an unencrypted PKCS#8 GOST key, else None."""
    if password is not None:
        return None  # encrypted PKCS#8 with GOST ciphers (PBES2/Kuznyechik) is not supported
    match = _PEM_PRIVATE.search(pem)
    if match is None:
        return None
    try:
        return private_key_from_pkcs8(base64.b64decode(b"".join(match.group(1).split())))
    except (ValueError, UnknownCurve):
        return None


def _pem(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"".join([f"-----BEGIN {label}-----\n".encode(), *(line + b"\n" for line in lines)]) + (
        f"-----END {label}-----\n".encode()
    )


# --- issuing --------------------------------------------------------------------------------------------


def _signature_oid(size: int) -> str:
    return SIGNATURE_256_OID if size == 32 else SIGNATURE_512_OID


def verify_signed_by(issuer_key: GostPublicKey, signature_oid: str, tbs: bytes, signature: bytes) -> bool:
    """A certificate's or CRL's signature (``trust`` verifies issuers with this)."""
    if signature_oid != _signature_oid(issuer_key.size):
        return False
    return verify_digest(issuer_key, digest_for(issuer_key.size, tbs), signature)


@dataclass(frozen=True)
class CertificateProfile:
    """What differs between a CA and a leaf certificate."""

    ca: bool
    key_usage: frozenset[str]  # asn1crypto names: digital_signature, non_repudiation, key_cert_sign, …
    extended_key_usage: tuple[str, ...] = ()
    crl_url: str | None = None


def _time(value: dt.datetime) -> asn1_x509.Time:
    value = value.astimezone(dt.UTC).replace(microsecond=0)
    # RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    return asn1_x509.Time({"utc_time" if value.year < 2050 else "general_time": value})


def _key_identifier(key: GostPublicKey) -> bytes:
    # RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's value.
    return hashlib.sha1(core.OctetString(key.to_bytes()).dump()).digest()  # noqa: S324  # an identifier


def build_certificate(
    *,
    subject: x509.Name,
    subject_key: GostPublicKey,
    issuer: x509.Name,
    issuer_key: GostPrivateKey,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    profile: CertificateProfile,
) -> x509.Certificate:
    """An X.509 v3 certificate for a GOST key, signed with a GOST key (self-signed when they match)."""
    extensions = [
        {
            "extn_id": "basic_constraints",
            "critical": True,
            "extn_value": {"ca": profile.ca, "path_len_constraint": 0 if profile.ca else None},
        },
        {"extn_id": "key_usage", "critical": True, "extn_value": set(profile.key_usage)},
        {"extn_id": "key_identifier", "critical": False, "extn_value": _key_identifier(subject_key)},
        {
            "extn_id": "authority_key_identifier",
            "critical": False,
            "extn_value": {"key_identifier": _key_identifier(issuer_key.public_key())},
        },
    ]
    if profile.extended_key_usage:
        extensions.append(
            {
                "extn_id": "extended_key_usage",
                "critical": False,
                "extn_value": list(profile.extended_key_usage),
            }
        )
    if profile.crl_url is not None:
        extensions.append(
            {
                "extn_id": "crl_distribution_points",
                "critical": False,
                "extn_value": [
                    {
                        "distribution_point": asn1_x509.DistributionPointName(
                            name="full_name",
                            value=[
                                asn1_x509.GeneralName(
                                    name="uniform_resource_identifier", value=profile.crl_url
                                )
                            ],
                        )
                    }
                ],
            }
        )
    algorithm = {"algorithm": _signature_oid(issuer_key.size)}
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial,
            "signature": algorithm,
            "issuer": asn1_x509.Name.load(issuer.public_bytes()),
            "validity": {"not_before": _time(not_before), "not_after": _time(not_after)},
            "subject": asn1_x509.Name.load(subject.public_bytes()),
            "subject_public_key_info": asn1_keys.PublicKeyInfo.load(public_key_to_spki(subject_key)),
            "extensions": extensions,
        }
    )
    signature = issuer_key.sign(tbs.dump())
    certificate = asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": signature}
    )
    return x509.load_der_x509_certificate(certificate.dump())


def build_crl(
    *,
    issuer: x509.Name,
    issuer_key: GostPrivateKey,
    this_update: dt.datetime,
    next_update: dt.datetime,
    number: int,
    revoked: Sequence[tuple[int, dt.datetime]] = (),
) -> x509.CertificateRevocationList:
    """A v2 CRL signed with a GOST key; ``revoked`` is (serial, revocation date) pairs."""
    algorithm = {"algorithm": _signature_oid(issuer_key.size)}
    entries = [{"user_certificate": serial, "revocation_date": _time(when)} for serial, when in revoked]
    tbs = asn1_crl.TbsCertList(
        {
            "version": "v2",
            "signature": algorithm,
            "issuer": asn1_x509.Name.load(issuer.public_bytes()),
            "this_update": _time(this_update),
            "next_update": _time(next_update),
            "revoked_certificates": entries or None,
            "crl_extensions": [
                {"extn_id": "crl_number", "critical": False, "extn_value": number},
                {
                    "extn_id": "authority_key_identifier",
                    "critical": False,
                    "extn_value": {"key_identifier": _key_identifier(issuer_key.public_key())},
                },
            ],
        }
    )
    crl = asn1_crl.CertificateList(
        {"tbs_cert_list": tbs, "signature_algorithm": algorithm, "signature": issuer_key.sign(tbs.dump())}
    )
    return x509.load_der_x509_crl(crl.dump())
