"""The GOST half of the development PKI: a GOST CA beside the RSA one, and a GOST key per participant.

СМЭВ 3 and production exchanges sign with GOST R 34.10-2012, so a development box needs GOST keys as
much as RSA ones. ``devpki.init_pki`` calls ``init_gost_pki`` after the RSA work; the rules are the same
(reuse what is valid, re-issue only what is missing, expired, revoked, from another CA or for another
name), and so is the layout, one level down::

    var/pki/gost-ca/cert.pem, key.pem, crl.pem   GOST CA: self-signed, 2012-256 on CryptoPro-A (XchA)
    var/pki/<folder>/gost/cert.pem, key.pem       the participant's GOST certificate and key
    var/pki/participants-gost.json                manifest of the GOST certificates (same fields)

The СМЭВ 3 emulator always gets one (``smev/gost/``), whether or not a ``smev`` participant is passed.
Keys are PKCS#8 as OpenSSL's GOST engine writes them (``openssl pkey -engine gost`` reads them);
certificates follow the RSA profile (same subject, key usage, CRL distribution point) with the GOST CA's
signature. DEVELOPMENT ONLY, like the rest of devpki: unencrypted keys, the CA key beside its certificate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.gost.asn1 import (
    CertificateProfile,
    build_certificate,
    build_crl,
    certificate_public_key,
    private_key_from_pem,
    private_key_pem,
    verify_signed_by,
)
from rserz_soap.xmlsig.gost.curves import CRYPTOPRO_XCHA
from rserz_soap.xmlsig.gost.sign import GostPrivateKey, generate_private_key

__all__ = [
    "GOST_CA_DIR",
    "GOST_DIR",
    "GOST_MANIFEST_NAME",
    "SMEV_EMULATOR_SPEC",
    "GostIssued",
    "init_gost_pki",
    "load_gost_issued",
    "revoke_gost",
]

GOST_CA_DIR: Final = "gost-ca"
GOST_DIR: Final = "gost"
GOST_MANIFEST_NAME: Final = "participants-gost.json"
SMEV_EMULATOR_SPEC: Final = devpki.ParticipantSpec(
    kind="smev", code=None, name="СМЭВ 3 emulator (development)"
)

_CA_COMMON_NAME: Final = "RS ERZ Development GOST CA"
_CA_PROFILE: Final = CertificateProfile(ca=True, key_usage=frozenset({"key_cert_sign", "crl_sign"}))
_LEAF_PROFILE: Final = CertificateProfile(
    ca=False,
    key_usage=frozenset({"digital_signature", "non_repudiation"}),
    extended_key_usage=("client_auth", "server_auth"),
    crl_url=devpki.CRL_DISTRIBUTION_URL.replace("/crl.pem", "/gost-crl.pem"),
)


@dataclass(frozen=True)
class GostIssued:
    """A GOST certificate on disk (the fields of ``participants-gost.json``)."""

    kind: str
    code: str | None
    name: str
    folder: Path  # <root>/<participant folder>/gost
    cert_path: Path
    key_path: Path
    subject: str
    serial: int
    sha256: str
    not_before: dt.datetime
    not_after: dt.datetime


def _ca_name() -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, devpki._CA_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, _CA_COMMON_NAME),
        ]
    )


def init_gost_pki(
    root: Path,
    participants: Sequence[devpki.ParticipantSpec],
    *,
    now: dt.datetime,
    validity_days: int = devpki.DEFAULT_VALIDITY_DAYS,
    force: bool = False,
) -> list[GostIssued]:
    """Called by ``devpki.init_pki`` under its lock; ``participants`` already includes the hub."""
    ca_dir = root / GOST_CA_DIR
    if force or not (ca_dir / devpki.CERT_FILE).exists() or not (ca_dir / devpki.KEY_FILE).exists():
        ca_cert, ca_key = _create_ca(root, now)
        _write_crl(root, ca_cert, ca_key, [], now)
        fresh = True
    else:
        ca_cert, ca_key = _load_ca(root)
        _refresh_crl(root, ca_cert, ca_key, now)
        fresh = False
    revoked = {serial for serial, _ in _crl_entries(root, ca_cert)}
    specs = list(participants)
    if not any(spec.kind == "smev" for spec in specs):
        specs.append(SMEV_EMULATOR_SPEC)
    issued = []
    for spec in specs:
        folder = root / devpki.folder_name(spec) / GOST_DIR
        existing = None if fresh else _existing_valid(folder, spec, ca_cert, revoked, now)
        if existing is None:
            not_before = now - devpki._CLOCK_SKEW
            existing = _issue(
                folder, spec, ca_cert, ca_key, not_before, not_before + dt.timedelta(days=validity_days)
            )
        issued.append(existing)
    _write_manifest(root, issued)
    return issued


def load_gost_issued(root: Path) -> list[GostIssued]:
    raw: Any = json.loads((root / GOST_MANIFEST_NAME).read_text(encoding="utf-8"))
    return [
        GostIssued(
            kind=str(item["kind"]),
            code=None if item["code"] is None else str(item["code"]),
            name=str(item["name"]),
            folder=root / str(item["folder"]),
            cert_path=root / str(item["folder"]) / devpki.CERT_FILE,
            key_path=root / str(item["folder"]) / devpki.KEY_FILE,
            subject=str(item["subject"]),
            serial=int(item["serial"]),
            sha256=str(item["sha256"]),
            not_before=dt.datetime.fromisoformat(str(item["not_before"])),
            not_after=dt.datetime.fromisoformat(str(item["not_after"])),
        )
        for item in raw
    ]


def revoke_gost(root: Path, serial: int) -> None:
    """Put a serial on the GOST CA's CRL (tests of revocation handling)."""
    if serial <= 0:
        raise ValueError("certificate serial numbers are positive")
    with devpki._locked(root):
        now = devpki._now()
        ca_cert, ca_key = _load_ca(root)
        entries = _crl_entries(root, ca_cert)
        if not any(existing == serial for existing, _ in entries):
            entries.append((serial, now))
        _write_crl(root, ca_cert, ca_key, entries, now)


# --- CA and CRL -----------------------------------------------------------------------------------------


def _create_ca(root: Path, now: dt.datetime) -> tuple[x509.Certificate, GostPrivateKey]:
    key = generate_private_key(CRYPTOPRO_XCHA)
    not_before = now - devpki._CLOCK_SKEW
    cert = build_certificate(
        subject=_ca_name(),
        subject_key=key.public_key(),
        issuer=_ca_name(),
        issuer_key=key,
        serial=x509.random_serial_number(),
        not_before=not_before,
        not_after=not_before + dt.timedelta(days=devpki.CA_VALIDITY_DAYS),
        profile=_CA_PROFILE,
    )
    ca_dir = root / GOST_CA_DIR
    ca_dir.mkdir(parents=True, exist_ok=True)
    devpki._atomic_write(ca_dir / devpki.KEY_FILE, private_key_pem(key), 0o600)
    devpki._write_public(ca_dir / devpki.CERT_FILE, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _load_ca(root: Path) -> tuple[x509.Certificate, GostPrivateKey]:
    ca_dir = root / GOST_CA_DIR
    cert = x509.load_pem_x509_certificate((ca_dir / devpki.CERT_FILE).read_bytes())
    key = private_key_from_pem((ca_dir / devpki.KEY_FILE).read_bytes())
    if key is None or key.public_key() != certificate_public_key(cert):
        raise ValueError(f"{ca_dir / devpki.KEY_FILE} is not the GOST key of {ca_dir / devpki.CERT_FILE}")
    return cert, key


def _crl_entries(root: Path, ca_cert: x509.Certificate) -> list[tuple[int, dt.datetime]]:
    try:
        crl = _read_crl(root, ca_cert)
    except (FileNotFoundError, ValueError):
        return []
    return [(entry.serial_number, entry.revocation_date_utc) for entry in crl]


def _read_crl(root: Path, ca_cert: x509.Certificate) -> x509.CertificateRevocationList:
    crl = x509.load_pem_x509_crl((root / GOST_CA_DIR / devpki.CRL_FILE).read_bytes())
    ca_key = certificate_public_key(ca_cert)
    oid = crl.signature_algorithm_oid.dotted_string
    if ca_key is None or not verify_signed_by(ca_key, oid, crl.tbs_certlist_bytes, crl.signature):
        raise ValueError("the GOST CRL is not signed by the GOST CA")
    return crl


def _refresh_crl(root: Path, ca_cert: x509.Certificate, ca_key: GostPrivateKey, now: dt.datetime) -> None:
    try:
        crl = _read_crl(root, ca_cert)
    except (FileNotFoundError, ValueError):
        _write_crl(root, ca_cert, ca_key, [], now)
        return
    if crl.next_update_utc is None or crl.next_update_utc <= now:
        _write_crl(root, ca_cert, ca_key, [(e.serial_number, e.revocation_date_utc) for e in crl], now)


def _write_crl(
    root: Path,
    ca_cert: x509.Certificate,
    ca_key: GostPrivateKey,
    entries: Sequence[tuple[int, dt.datetime]],
    now: dt.datetime,
) -> None:
    path = root / GOST_CA_DIR / devpki.CRL_FILE
    number = 1
    try:
        old = x509.load_pem_x509_crl(path.read_bytes())
        number = old.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
    except (FileNotFoundError, ValueError, x509.ExtensionNotFound):
        pass
    crl = build_crl(
        issuer=ca_cert.subject,
        issuer_key=ca_key,
        this_update=now,
        next_update=now + dt.timedelta(days=devpki.CRL_VALIDITY_DAYS),
        number=number,
        revoked=entries,
    )
    devpki._write_public(path, crl.public_bytes(serialization.Encoding.PEM))


# --- participants ---------------------------------------------------------------------------------------


def _issue(
    folder: Path,
    spec: devpki.ParticipantSpec,
    ca_cert: x509.Certificate,
    ca_key: GostPrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> GostIssued:
    key = generate_private_key(CRYPTOPRO_XCHA)
    cert = build_certificate(
        subject=devpki._subject(spec),
        subject_key=key.public_key(),
        issuer=ca_cert.subject,
        issuer_key=ca_key,
        serial=x509.random_serial_number(),
        not_before=not_before,
        not_after=not_after,
        profile=_LEAF_PROFILE,
    )
    folder.mkdir(parents=True, exist_ok=True)
    devpki._atomic_write(folder / devpki.KEY_FILE, private_key_pem(key), 0o600)
    devpki._write_public(folder / devpki.CERT_FILE, cert.public_bytes(serialization.Encoding.PEM))
    return _describe(spec, folder, cert)


def _existing_valid(
    folder: Path,
    spec: devpki.ParticipantSpec,
    ca_cert: x509.Certificate,
    revoked: set[int],
    now: dt.datetime,
) -> GostIssued | None:
    try:
        cert = x509.load_pem_x509_certificate((folder / devpki.CERT_FILE).read_bytes())
        key = private_key_from_pem((folder / devpki.KEY_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    ca_key = certificate_public_key(ca_cert)
    if key is None or ca_key is None or key.public_key() != certificate_public_key(cert):
        return None
    oid = cert.signature_algorithm_oid.dotted_string
    if cert.issuer != ca_cert.subject or not verify_signed_by(
        ca_key, oid, cert.tbs_certificate_bytes, cert.signature
    ):
        return None
    if cert.subject != devpki._subject(spec) or cert.serial_number in revoked:
        return None
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        return None
    return _describe(spec, folder, cert)


def _describe(spec: devpki.ParticipantSpec, folder: Path, cert: x509.Certificate) -> GostIssued:
    der = cert.public_bytes(serialization.Encoding.DER)
    return GostIssued(
        kind=spec.kind,
        code=spec.code,
        name=spec.name,
        folder=folder,
        cert_path=folder / devpki.CERT_FILE,
        key_path=folder / devpki.KEY_FILE,
        subject=cert.subject.rfc4514_string(),
        serial=cert.serial_number,
        sha256=hashlib.sha256(der).hexdigest(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


def _write_manifest(root: Path, issued: Sequence[GostIssued]) -> None:
    entries = [
        {
            "kind": item.kind,
            "code": item.code,
            "name": item.name,
            "folder": str(item.folder.relative_to(root)),
            "subject": item.subject,
            "serial": item.serial,
            "sha256": item.sha256,
            "not_before": devpki._format_time(item.not_before),
            "not_after": devpki._format_time(item.not_after),
            "key_type": "gost2012-256",
        }
        for item in issued
    ]
    text = json.dumps(entries, ensure_ascii=False, indent=2) + "\n"
    devpki._write_public(root / GOST_MANIFEST_NAME, text.encode("utf-8"))
