"""X.509 trust: is a signer's certificate one of ours, now?

A valid XMLDSig signature only proves possession of *a* key. The hub accepts a request when, in addition,
the certificate was issued by a trusted CA, is within its validity period, is not revoked and may sign
(architecture §6). Which participant the certificate belongs to is a different question, answered by the
participant registry (certificate SHA-256 -> participant in the database), not here.

The chain is one level deep on purpose: the development PKI and the regional production CAs issue
participant certificates directly, so a trust anchor is the direct issuer. Anchors are trusted as
configured; their own validity is not checked (RFC 5280 §6.1 treats an anchor as an input, not as a
certificate to validate).

A CRL whose nextUpdate has passed is still used — an old list of revoked serials is better than none —
but a warning is logged once per CRL, so a stale ``ca/crl.pem`` shows up in the logs, not in an outage.

``cryptography`` cannot verify a GOST signature on a certificate or CRL: ``gost/xmldsig.py`` registers a
verifier for the GOST signature OIDs (``register_issuer_signature_verifier``), our own GOST verification
over ``tbs_certificate_bytes``; the RSA/EC path is unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes

from rserz_soap.xmlsig.devpki import CA_DIR, CERT_FILE, CRL_FILE

__all__ = ["IssuerSignatureVerifier", "TrustError", "TrustStore", "register_issuer_signature_verifier"]

log = logging.getLogger(__name__)

# (issuer certificate, signed TBS bytes, signature bytes) -> valid?
IssuerSignatureVerifier = Callable[[x509.Certificate, bytes, bytes], bool]
_ISSUER_VERIFIERS: dict[str, IssuerSignatureVerifier] = {}


def register_issuer_signature_verifier(signature_oid: str, verifier: IssuerSignatureVerifier) -> None:
    """Verify certificates and CRLs signed with an algorithm ``cryptography`` lacks (dotted OID string)."""
    _ISSUER_VERIFIERS[signature_oid] = verifier


class TrustError(Exception):
    """Why a certificate is not trusted, with a machine-readable ``code``.

    ``untrusted_issuer``: not signed by any trusted CA; ``expired`` / ``not_yet_valid``: outside its
    validity period at the given time; ``revoked``: on its CA's CRL; ``bad_key_usage``: a CA certificate,
    or a KeyUsage without digitalSignature and nonRepudiation.
    """

    codes: ClassVar[frozenset[str]] = frozenset(
        {"untrusted_issuer", "expired", "not_yet_valid", "revoked", "bad_key_usage"}
    )

    def __init__(self, code: str, message: str) -> None:
        if code not in self.codes:
            raise ValueError(f"unknown TrustError code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TrustStore:
    """Trust anchors and their CRLs; immutable after construction, so one instance serves all threads."""

    def __init__(
        self, ca_certs: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList] = ()
    ) -> None:
        if not ca_certs:
            raise ValueError("a trust store needs at least one CA certificate")
        self._cas = tuple(ca_certs)
        self._crls: dict[bytes, list[x509.CertificateRevocationList]] = {}
        # each CRL's entries by serial, read once: cryptography's get_revoked_certificate_by_serial_number
        # scans the whole list on every call (≈ 0.5 ms at 10,000 entries, 6 ms at 100,000)
        self._revoked: dict[int, dict[int, dt.datetime]] = {}
        for crl in crls:
            issuer = next((ca for ca in self._cas if _crl_signed_by(crl, ca)), None)
            if issuer is None:
                # A CRL nobody we trust signed could un-revoke anything; refuse to start rather than use it.
                raise ValueError(f"CRL of {crl.issuer.rfc4514_string()} is not signed by a trusted CA")
            self._crls.setdefault(_fingerprint(issuer), []).append(crl)
            self._revoked[id(crl)] = _revoked_serials(crl)
        self._warned: set[tuple[bytes, dt.datetime]] = set()
        # what does not depend on the time of the check: the issuer a certificate verifies under and its key
        # usage; one chain verification per certificate for the life of this store (a CRL reload makes a
        # new store), not per request
        self._checked: dict[bytes, x509.Certificate | TrustError] = {}

    @classmethod
    def from_pki_dir(cls, path: str | os.PathLike[str], *, require_crl: bool = False) -> TrustStore:
        """The anchors of a ``var/pki``-layout directory: ``ca/cert.pem`` (one or more) and ``ca/crl.pem``,
        and the GOST CA's ``gost-ca/cert.pem`` and ``gost-ca/crl.pem`` when that directory exists.

        ``require_crl``: a CA without its CRL is an error (``ValueError``), not "revocation unchecked" —
        what a server that decides trust must do: fail closed."""
        ca_certs: list[x509.Certificate] = []
        crls = []
        for ca_dir in (Path(path) / CA_DIR, *_optional_ca_dirs(Path(path))):
            ca_certs.extend(x509.load_pem_x509_certificates((ca_dir / CERT_FILE).read_bytes()))
            crl_path = ca_dir / CRL_FILE
            if crl_path.exists():
                crls.append(x509.load_pem_x509_crl(crl_path.read_bytes()))
            elif require_crl:
                raise ValueError(f"no CRL at {crl_path}")
            else:
                log.warning("no CRL at %s: revocation is not checked", crl_path)
        return cls(ca_certs, crls)

    def stale_crls(self, at: dt.datetime) -> list[str]:
        """Issuers whose CRL's nextUpdate has passed (still used, but the CA has not published since)."""
        return [
            crl.issuer.rfc4514_string()
            for crls in self._crls.values()
            for crl in crls
            if crl.next_update_utc is not None and crl.next_update_utc < at
        ]

    @property
    def ca_certs(self) -> tuple[x509.Certificate, ...]:
        return self._cas

    def validate(self, cert: x509.Certificate, at: dt.datetime) -> None:
        """Raise ``TrustError`` unless ``cert`` may sign at ``at`` (timezone-aware; usually now, or the
        signing time when an archived message is re-checked)."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("`at` must be timezone-aware")
        issuer = self._static_checks(cert)
        if at < cert.not_valid_before_utc:
            raise TrustError("not_yet_valid", f"valid from {cert.not_valid_before_utc.isoformat()}")
        if at > cert.not_valid_after_utc:
            raise TrustError("expired", f"expired {cert.not_valid_after_utc.isoformat()}")
        self._check_revocation(cert, issuer, at)

    def _static_checks(self, cert: x509.Certificate) -> x509.Certificate:
        """The issuer ``cert`` verifies under, its key usage checked — remembered per certificate."""
        key = _fingerprint(cert)
        known = self._checked.get(key)
        if known is None:
            try:
                issuer = self._issuer_of(cert)
                if issuer is None:
                    raise TrustError(
                        "untrusted_issuer", f"{cert.issuer.rfc4514_string()} is not a trusted CA"
                    )
                _check_key_usage(cert)
                known = issuer
            except TrustError as exc:
                known = exc
            if len(self._checked) >= _CHECKED_MAX:  # bounded: a flood of self-made certificates
                self._checked.clear()
            self._checked[key] = known
        if isinstance(known, TrustError):
            raise TrustError(known.code, known.message)
        return known

    def _issuer_of(self, cert: x509.Certificate) -> x509.Certificate | None:
        for ca in self._cas:
            if ca.subject == cert.issuer and _cert_signed_by(cert, ca):
                return ca
        return None

    def _check_revocation(self, cert: x509.Certificate, issuer: x509.Certificate, at: dt.datetime) -> None:
        issuer_key = _fingerprint(issuer)
        for crl in self._crls.get(issuer_key, ()):
            next_update = crl.next_update_utc
            if next_update is not None and next_update < at:
                self._warn_stale(issuer_key, crl, next_update)
            revoked_at = self._revoked[id(crl)].get(cert.serial_number)
            if revoked_at is not None and revoked_at <= at:
                raise TrustError("revoked", f"serial {cert.serial_number:x} revoked {revoked_at.isoformat()}")

    def _warn_stale(
        self, issuer_key: bytes, crl: x509.CertificateRevocationList, next_update: dt.datetime
    ) -> None:
        marker = issuer_key, crl.last_update_utc
        if marker not in self._warned:
            self._warned.add(marker)
            log.warning(
                "CRL of %s is stale (nextUpdate %s); still using it", crl.issuer.rfc4514_string(), next_update
            )


_CHECKED_MAX = 10_000


def _revoked_serials(crl: x509.CertificateRevocationList) -> dict[int, dt.datetime]:
    """Serial → revocation date of every entry (the first entry of a serial listed twice, as
    ``get_revoked_certificate_by_serial_number`` answers)."""
    revoked: dict[int, dt.datetime] = {}
    for entry in crl:
        revoked.setdefault(entry.serial_number, entry.revocation_date_utc)
    return revoked


def _optional_ca_dirs(root: Path) -> list[Path]:
    """CA directories besides ``ca/`` that a dev PKI may have: the GOST CA (``devpki_gost.GOST_CA_DIR``)."""
    gost = root / "gost-ca"
    return [gost] if (gost / CERT_FILE).exists() else []


def _check_key_usage(cert: x509.Certificate) -> None:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is not None and constraints.ca:
        raise TrustError("bad_key_usage", "a CA certificate does not sign messages")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return  # RFC 5280 §4.2.1.3: no KeyUsage means no restriction
    if not (usage.digital_signature or usage.content_commitment):
        raise TrustError("bad_key_usage", "KeyUsage allows neither digitalSignature nor nonRepudiation")


def _cert_signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return _registered_verify(
            cert.signature_algorithm_oid, ca, cert.tbs_certificate_bytes, cert.signature
        )
    return True


def _crl_signed_by(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    if crl.issuer != ca.subject:
        return False
    try:
        public_key = ca.public_key()
        return crl.is_signature_valid(public_key)  # type: ignore[arg-type]  # non-signing key types raise
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return _registered_verify(crl.signature_algorithm_oid, ca, crl.tbs_certlist_bytes, crl.signature)


def _registered_verify(
    oid: x509.ObjectIdentifier, ca: x509.Certificate, tbs: bytes, signature: bytes
) -> bool:
    verifier = _ISSUER_VERIFIERS.get(oid.dotted_string)
    return verifier is not None and verifier(ca, tbs, signature)


_FINGERPRINTS: dict[x509.Certificate, bytes] = {}


def certificate_sha256(cert: x509.Certificate) -> bytes:
    """SHA-256 of the certificate's DER (what participants are registered by), remembered per certificate:
    every request of a participant carries the same one (hashing a certificate object costs a third of
    hashing its DER again). Bounded: a flood of self-made certificates only empties the memo."""
    known = _FINGERPRINTS.get(cert)
    if known is None:
        if len(_FINGERPRINTS) >= _CHECKED_MAX:
            _FINGERPRINTS.clear()
        known = _FINGERPRINTS[cert] = cert.fingerprint(hashes.SHA256())
    return known


_fingerprint = certificate_sha256
