"""Development PKI: a throw-away CA and one signing certificate per exchange participant.

The hub verifies WS-Security signatures of СМО, МО, ИС ЗЛ, ФЕРЗЛ and СМЭВ and signs its own answers, so a
working installation needs keys for all of them before the first request. This module makes them locally
so that ``make run`` works with no external CA. The directory layout it writes under ``var/pki`` is a
public interface: СМО/МО developers point their own SOAP clients at it (see ``certs/README.md``), so change
it only together with that file.

DEVELOPMENT ONLY: private keys are written as unencrypted PKCS#8 PEM files (mode 0600) and the CA key sits
next to its certificate. Production keys never come from here. GOST R 34.10-2012 keys and a GOST CA are
made beside the RSA ones by ``devpki_gost.py`` (``init_pki`` calls it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA_VALIDITY_DAYS",
    "CRL_DISTRIBUTION_URL",
    "CRL_VALIDITY_DAYS",
    "DEFAULT_HUB_SPEC",
    "DEFAULT_VALIDITY_DAYS",
    "KEY_TYPES",
    "KINDS",
    "MANIFEST_NAME",
    "IssuedCertificate",
    "ParticipantSpec",
    "folder_name",
    "init_pki",
    "issue_certificate",
    "load_issued",
    "revoke",
]

KINDS: Final = frozenset({"smo", "mo", "iszl", "ferzl", "smev", "hub"})
KEY_TYPES: Final = frozenset({"rsa", "ec"})
# СМО and МО are many per region and told apart only by their registry code; the others are singletons.
_KINDS_WITH_CODE: Final = frozenset({"smo", "mo"})

DEFAULT_VALIDITY_DAYS: Final = 825
# The CA must outlive every certificate it issues, including ones re-issued years into a long-lived dev box.
CA_VALIDITY_DAYS: Final = 3650
CRL_VALIDITY_DAYS: Final = 30
# Informational only: the hub serves the CRL there, but nothing in the hub fetches it over HTTP.
CRL_DISTRIBUTION_URL: Final = "http://127.0.0.1:8080/pki/crl.pem"
MANIFEST_NAME: Final = "participants.json"

CA_DIR: Final = "ca"
CERT_FILE: Final = "cert.pem"
KEY_FILE: Final = "key.pem"
CRL_FILE: Final = "crl.pem"
_LOCK_FILE: Final = ".lock"

# ASCII names for the CA and the hub: their DNs are compared textually in ds:X509IssuerName by some
# client stacks, and non-ASCII escaping differs between them.
_CA_COMMON_NAME: Final = "RS ERZ Development CA"
_CA_ORGANIZATION: Final = "TFOMS development PKI (not for production)"

_RSA_BITS_CA: Final = 3072
_RSA_BITS_LEAF: Final = 2048
# Certificates start a little in the past so that a peer whose clock lags does not reject a fresh one.
_CLOCK_SKEW: Final = dt.timedelta(minutes=5)
_CODE_RE: Final = re.compile(r"[0-9A-Za-z]{1,32}")
_FOLDER_RE: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}")

_PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class ParticipantSpec:
    """Who gets a certificate; validated eagerly because the code becomes a directory name."""

    kind: str
    code: str | None
    name: str
    key_type: str = "rsa"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown participant kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if self.key_type not in KEY_TYPES:
            raise ValueError(f"unknown key type {self.key_type!r}; expected one of {sorted(KEY_TYPES)}")
        if self.code is None:
            if self.kind in _KINDS_WITH_CODE:
                raise ValueError(f"a {self.kind} participant needs a code")
        else:
            if self.kind == "hub":
                raise ValueError("the hub has no code: its folder is always 'hub'")
            if not _CODE_RE.fullmatch(self.code):
                raise ValueError(f"participant code must be 1-32 ASCII letters or digits, got {self.code!r}")
        if not 1 <= len(self.name) <= 200:
            raise ValueError(f"participant name must be 1-200 characters, got {len(self.name)}")


DEFAULT_HUB_SPEC: Final = ParticipantSpec(kind="hub", code=None, name="RS ERZ hub (development)")


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate on disk, with the facts a peer needs to pin or look it up without parsing it."""

    spec: ParticipantSpec
    folder: Path
    cert_path: Path
    key_path: Path
    subject: str
    serial: int
    sha256: str
    not_before: dt.datetime
    not_after: dt.datetime


def folder_name(spec: ParticipantSpec) -> str:
    """Directory of a participant under the PKI root; part of the public layout, so keep it stable."""
    if spec.code is None:
        return spec.kind
    return f"{spec.kind}-{spec.code}"


def init_pki(
    root: Path,
    participants: Sequence[ParticipantSpec],
    *,
    validity_days: int = DEFAULT_VALIDITY_DAYS,
    force: bool = False,
) -> list[IssuedCertificate]:
    """Make sure every participant has a usable key pair, touching as little as possible.

    Runs on every ``make run``, so it must be cheap and must not invalidate keys that developers have
    already copied into their clients: an existing CA is reused and a participant's valid certificate
    is kept. A certificate is re-issued only if it is missing, unreadable, not issued by the current CA,
    not valid now, revoked, or no longer matches its spec (name or key type). ``force`` replaces the CA
    and therefore every certificate. The hub is always included (``DEFAULT_HUB_SPEC`` unless a ``hub``
    spec is passed). ``participants.json`` is rewritten to list exactly the returned certificates.
    """
    if validity_days <= 0:
        raise ValueError("validity_days must be positive")
    specs = _with_hub(participants)
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        now = _now()
        # Only a CA that is wholly absent is created; half of one is an error in _load_ca, not a reset.
        no_ca = not (root / CA_DIR / CERT_FILE).exists() and not (root / CA_DIR / KEY_FILE).exists()
        fresh_ca = force or no_ca
        if fresh_ca:
            ca_cert, ca_key = _create_ca(root, now)
            _write_crl(root, ca_cert, ca_key, [], now)
        else:
            ca_cert, ca_key = _load_ca(root, now)
            _refresh_crl(root, ca_cert, ca_key, now)
        revoked = _revoked_serials(root)
        issued: list[IssuedCertificate] = []
        for spec in specs:
            existing = None if fresh_ca else _existing_valid(root, spec, ca_cert, revoked, now)
            if existing is None:
                not_before = now - _CLOCK_SKEW
                existing = _issue(
                    root, spec, ca_cert, ca_key, not_before, not_before + dt.timedelta(days=validity_days)
                )
            issued.append(existing)
        _write_manifest(root, issued)
        # The GOST CA and keys beside the RSA ones (devpki_gost.py; imported here, it imports us).
        from rserz_soap.xmlsig.devpki_gost import init_gost_pki

        init_gost_pki(root, specs, now=now, validity_days=validity_days, force=force)
        return issued


def issue_certificate(
    root: Path,
    spec: ParticipantSpec,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    folder: str | None = None,
) -> IssuedCertificate:
    """Issue a fresh key and certificate from the existing CA, with whatever validity the caller asks.

    Exists so tests can make expired and not-yet-valid certificates that still chain to the real CA;
    no sanity limits are applied to the dates on purpose. ``folder`` writes into another directory under
    the root (e.g. ``smo-45001-expired``) so the participant's regular key stays untouched. If the target
    folder is listed in ``participants.json`` its entry is updated so the manifest never describes a
    certificate that is no longer on disk; other folders are not added to the manifest.
    """
    if not_before is None:
        not_before = _now() - _CLOCK_SKEW
    _require_aware(not_before, "not_before")
    if not_after is None:
        not_after = not_before + dt.timedelta(days=DEFAULT_VALIDITY_DAYS)
    _require_aware(not_after, "not_after")
    if not_after <= not_before:
        raise ValueError("not_after must be later than not_before")
    if folder is not None:
        _check_folder(folder)
    with _locked(root):
        ca_cert, ca_key = _load_ca(root, None)
        issued = _issue(root, spec, ca_cert, ca_key, not_before, not_after, folder=folder)
        manifest = root / MANIFEST_NAME
        if manifest.exists():
            entries = load_issued(root)
            if any(e.folder == issued.folder for e in entries):
                _write_manifest(root, [issued if e.folder == issued.folder else e for e in entries])
        return issued


def load_issued(root: Path) -> list[IssuedCertificate]:
    """Read ``participants.json`` so callers need not walk and parse every certificate at start-up."""
    raw: Any = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise TypeError(f"{root / MANIFEST_NAME}: expected a JSON list")
    result: list[IssuedCertificate] = []
    for item in raw:
        if not isinstance(item, dict):
            raise TypeError(f"{root / MANIFEST_NAME}: expected a list of objects")
        try:
            spec = ParticipantSpec(
                kind=str(item["kind"]),
                code=None if item["code"] is None else str(item["code"]),
                name=str(item["name"]),
                key_type=str(item["key_type"]),
            )
            folder = str(item["folder"])
            _check_folder(folder)
            result.append(
                IssuedCertificate(
                    spec=spec,
                    folder=root / folder,
                    cert_path=root / folder / CERT_FILE,
                    key_path=root / folder / KEY_FILE,
                    subject=str(item["subject"]),
                    serial=int(item["serial"]),
                    sha256=str(item["sha256"]),
                    not_before=_parse_time(str(item["not_before"])),
                    not_after=_parse_time(str(item["not_after"])),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{root / MANIFEST_NAME}: bad entry {item!r}: {exc}") from exc
    return result


def revoke(root: Path, serial: int, reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise) -> None:
    """Put a serial on the CA's CRL, so revocation handling can be exercised without a real CA.

    Revoking an already revoked serial keeps the original entry (and its date) but still re-signs the CRL.
    The serial is not checked against issued certificates: tests may revoke anything.
    """
    if serial <= 0:
        raise ValueError("certificate serial numbers are positive")
    with _locked(root):
        now = _now()
        ca_cert, ca_key = _load_ca(root, None)
        entries = list(_read_crl(root, ca_cert)) if (root / CA_DIR / CRL_FILE).exists() else []
        if not any(e.serial_number == serial for e in entries):
            builder = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now)
            if reason is not x509.ReasonFlags.unspecified:  # RFC 5280 5.3.1: omit rather than "unspecified"
                builder = builder.add_extension(x509.CRLReason(reason), critical=False)
            entries.append(builder.build())
        _write_crl(root, ca_cert, ca_key, entries, now)


# --- CA and CRL -----------------------------------------------------------------------------------------


def _create_ca(root: Path, now: dt.datetime) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS_CA)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _CA_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, _CA_COMMON_NAME),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    not_before = now - _CLOCK_SKEW
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + dt.timedelta(days=CA_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    ca_dir = root / CA_DIR
    ca_dir.mkdir(parents=True, exist_ok=True)
    _write_key(ca_dir / KEY_FILE, key)
    _write_public(ca_dir / CERT_FILE, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _load_ca(root: Path, now: dt.datetime | None) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """Load the CA, refusing to paper over damage: silently replacing it would orphan every issued key."""
    ca_dir = root / CA_DIR
    if not (ca_dir / CERT_FILE).exists() or not (ca_dir / KEY_FILE).exists():
        raise FileNotFoundError(
            f"no complete development CA in {ca_dir} (need {CERT_FILE} and {KEY_FILE}); "
            "run `rserz certs init` (init_pki), with --force if a half-written CA is left behind"
        )
    cert = x509.load_pem_x509_certificate((ca_dir / CERT_FILE).read_bytes())
    key = serialization.load_pem_private_key((ca_dir / KEY_FILE).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or not _same_public_key(cert, key):
        raise ValueError(f"{ca_dir / KEY_FILE} is not the RSA key of {ca_dir / CERT_FILE}; use force=True")
    if now is not None and not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise ValueError(f"development CA {ca_dir / CERT_FILE} is not valid now; re-create with force=True")
    return cert, key


def _read_crl(root: Path, ca_cert: x509.Certificate) -> x509.CertificateRevocationList:
    crl = x509.load_pem_x509_crl((root / CA_DIR / CRL_FILE).read_bytes())
    ca_public = ca_cert.public_key()
    if not isinstance(ca_public, rsa.RSAPublicKey) or not crl.is_signature_valid(ca_public):
        raise ValueError(f"{root / CA_DIR / CRL_FILE} is not signed by the development CA")
    return crl


def _refresh_crl(root: Path, ca_cert: x509.Certificate, ca_key: rsa.RSAPrivateKey, now: dt.datetime) -> None:
    """Keep a long-lived dev box's CRL current; left byte-identical while it is still valid."""
    try:
        crl = _read_crl(root, ca_cert)
    except (FileNotFoundError, ValueError):
        _write_crl(root, ca_cert, ca_key, [], now)  # a stale CRL from a previous CA lists nothing of ours
        return
    next_update = crl.next_update_utc
    if next_update is None or next_update <= now:
        _write_crl(root, ca_cert, ca_key, list(crl), now)


def _write_crl(
    root: Path,
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    entries: Sequence[x509.RevokedCertificate],
    now: dt.datetime,
) -> None:
    number = 1
    path = root / CA_DIR / CRL_FILE
    with contextlib.suppress(FileNotFoundError, ValueError, x509.ExtensionNotFound):
        old = x509.load_pem_x509_crl(path.read_bytes())
        number = old.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=CRL_VALIDITY_DAYS))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    )
    for entry in entries:
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(ca_key, hashes.SHA256())
    _write_public(path, crl.public_bytes(serialization.Encoding.PEM))


def _revoked_serials(root: Path) -> frozenset[int]:
    crl = x509.load_pem_x509_crl((root / CA_DIR / CRL_FILE).read_bytes())
    return frozenset(entry.serial_number for entry in crl)


# --- participant certificates ---------------------------------------------------------------------------


def _with_hub(participants: Sequence[ParticipantSpec]) -> list[ParticipantSpec]:
    hubs = [p for p in participants if p.kind == "hub"]
    if len(hubs) > 1:
        raise ValueError("at most one hub spec may be given")
    specs = ([] if hubs else [DEFAULT_HUB_SPEC]) + list(participants)
    seen: set[str] = set()
    for spec in specs:
        name = folder_name(spec)
        if name in seen:
            raise ValueError(f"two participants share the folder {name!r}")
        seen.add(name)
    return specs


def _subject(spec: ParticipantSpec) -> x509.Name:
    organization = spec.kind.upper() if spec.code is None else f"{spec.kind.upper()} {spec.code}"
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)]
    if spec.code is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, spec.code))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, _cn(spec.name)))
    return x509.Name(attributes)


def _cn(name: str, limit: int = 64) -> str:
    """X.520 limits a CN to 64 bytes of UTF-8 (32 Cyrillic letters): cut on a character boundary."""
    raw = name.encode("utf-8")
    return name if len(raw) <= limit else raw[:limit].decode("utf-8", errors="ignore").rstrip()


def _new_key(key_type: str) -> _PrivateKey:
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS_LEAF)


def _issue(
    root: Path,
    spec: ParticipantSpec,
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    *,
    folder: str | None = None,
) -> IssuedCertificate:
    key = _new_key(spec.key_type)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_subject(spec))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(CRL_DISTRIBUTION_URL)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    target = root / (folder if folder is not None else folder_name(spec))
    target.mkdir(parents=True, exist_ok=True)
    # Key first: a crash in between leaves a key without a certificate, which init_pki re-issues.
    _write_key(target / KEY_FILE, key)
    _write_public(target / CERT_FILE, cert.public_bytes(serialization.Encoding.PEM))
    return _describe(spec, target, cert)


def _existing_valid(
    root: Path,
    spec: ParticipantSpec,
    ca_cert: x509.Certificate,
    revoked: frozenset[int],
    now: dt.datetime,
) -> IssuedCertificate | None:
    folder = root / folder_name(spec)
    try:
        cert = x509.load_pem_x509_certificate((folder / CERT_FILE).read_bytes())
        key = serialization.load_pem_private_key((folder / KEY_FILE).read_bytes(), password=None)
        cert.verify_directly_issued_by(ca_cert)
    except (OSError, ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) or not _same_public_key(cert, key):
        return None
    if _key_type(key) != spec.key_type or cert.subject != _subject(spec) or cert.serial_number in revoked:
        return None
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        return None
    return _describe(spec, folder, cert)


def _key_type(key: _PrivateKey) -> str | None:
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa"
    if isinstance(key.curve, ec.SECP256R1):
        return "ec"
    return None


def _same_public_key(cert: x509.Certificate, key: _PrivateKey) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)


def _describe(spec: ParticipantSpec, folder: Path, cert: x509.Certificate) -> IssuedCertificate:
    return IssuedCertificate(
        spec=spec,
        folder=folder,
        cert_path=folder / CERT_FILE,
        key_path=folder / KEY_FILE,
        subject=cert.subject.rfc4514_string(),
        serial=cert.serial_number,
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


# --- manifest -------------------------------------------------------------------------------------------


def _write_manifest(root: Path, issued: Sequence[IssuedCertificate]) -> None:
    entries = [
        {
            "kind": item.spec.kind,
            "code": item.spec.code,
            "name": item.spec.name,
            "folder": item.folder.name,
            "subject": item.subject,
            "serial": item.serial,
            "sha256": item.sha256,
            "not_before": _format_time(item.not_before),
            "not_after": _format_time(item.not_after),
            "key_type": item.spec.key_type,
        }
        for item in issued
    ]
    text = json.dumps(entries, ensure_ascii=False, indent=2) + "\n"
    _write_public(root / MANIFEST_NAME, text.encode("utf-8"))


def _format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    _require_aware(parsed, "manifest timestamp")
    return parsed.astimezone(dt.UTC)


# --- small helpers --------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    # Certificates carry whole seconds; truncating here keeps returned values equal to what is on disk.
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _require_aware(value: dt.datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (naive datetimes are ambiguous in certificates)")


def _check_folder(folder: str) -> None:
    if not _FOLDER_RE.fullmatch(folder) or folder == CA_DIR:
        raise ValueError(f"folder must be a plain directory name other than {CA_DIR!r}, got {folder!r}")


def _write_key(path: Path, key: _PrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _atomic_write(path, data, 0o600)


def _write_public(path: Path, data: bytes) -> None:
    _atomic_write(path, data, 0o644)


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    """Write via a temp file so a reader (or a crash) never sees half a key; mkstemp creates it 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Serialise writers: ``make run`` and a developer's ``rserz certs init`` may race on a fresh tree."""
    if sys.platform == "win32":  # no flock; concurrent init on Windows dev boxes is not worth a dependency
        yield
        return
    import fcntl

    if not root.is_dir():
        raise FileNotFoundError(f"no development PKI at {root}; run `rserz certs init` (init_pki) first")
    with open(root / _LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
