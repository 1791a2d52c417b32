"""Participants of the exchange (СМО, МО, ИСЗЛ, agencies) and their registered certificates."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects.postgresql import insert

from rserz_soap.db.tables import participant, participant_certificate
from rserz_soap.xmlsig.algorithms import public_key_from_certificate


@dataclass(frozen=True)
class Participant:
    id: int
    kind: str
    code: str
    name: str
    active: bool
    log_bodies: bool = False
    legacy_sha1: bool = False  # may still sign with SHA-1 digests (opt-in per peer, off by default)
    file_encoding: str = "utf-8"  # of the files the hub writes for it (utf-8 or windows-1251)


def upsert_participant(conn: Connection, kind: str, code: str, name: str, ogrn: str | None = None) -> int:
    """Register a participant or refresh its name; returns its id. Idempotent, so `certs init` can rerun."""
    stmt = insert(participant).values(kind=kind, code=code, name=name, ogrn=ogrn)
    upsert = stmt.on_conflict_do_update(
        index_elements=[participant.c.kind, participant.c.code], set_={"name": name, "ogrn": ogrn}
    ).returning(participant.c.id)
    return int(conn.execute(upsert).scalar_one())


def register_certificate(conn: Connection, participant_id: int, cert_pem: bytes) -> str:
    """Bind a certificate to a participant; returns its SHA-256 fingerprint. Re-registering is a no-op."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    sha = hashlib.sha256(der).hexdigest()
    key_type = _key_type(cert)
    stmt = (
        insert(participant_certificate)
        .values(
            participant_id=participant_id,
            sha256=sha,
            serial=format(cert.serial_number, "x"),
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            key_type=key_type[:16],
            pem=cert_pem.decode("ascii"),
        )
        .on_conflict_do_nothing(index_elements=[participant_certificate.c.sha256])
    )
    conn.execute(stmt)
    return sha


@dataclass(frozen=True)
class RegisteredCertificate:
    participant: Participant
    sha256: str
    subject: str
    not_after: datetime
    revoked: bool


def list_certificates(conn: Connection) -> list[RegisteredCertificate]:
    p, c = participant, participant_certificate
    rows = conn.execute(
        select(
            p.c.id,
            p.c.kind,
            p.c.code,
            p.c.name,
            p.c.active,
            c.c.sha256,
            c.c.subject,
            c.c.not_after,
            c.c.revoked_at,
        )
        .join(c, c.c.participant_id == p.c.id)
        .order_by(p.c.kind, p.c.code)
    )
    return [
        RegisteredCertificate(
            Participant(r.id, r.kind, r.code, r.name, r.active),
            r.sha256,
            r.subject,
            r.not_after,
            r.revoked_at is not None,
        )
        for r in rows
    ]


def participant_by_certificate(conn: Connection, sha256: str) -> Participant | None:
    """The active participant a certificate (by its SHA-256 fingerprint) is registered to, if any."""
    p, c = participant, participant_certificate
    row = conn.execute(
        select(p.c.id, p.c.kind, p.c.code, p.c.name, p.c.active, p.c.log_bodies, p.c.legacy_sha1)
        .join(c, c.c.participant_id == p.c.id)
        .where(c.c.sha256 == sha256, c.c.revoked_at.is_(None), p.c.active.is_(True))
    ).first()
    if row is None:
        return None
    return Participant(row.id, row.kind, row.code, row.name, row.active, row.log_bodies, row.legacy_sha1)


def _key_type(cert: x509.Certificate) -> str:
    """rsa, ellipticcurve, gost256, gost512 … (what the participant signs with)."""
    try:
        key: object = cert.public_key()
    except UnsupportedAlgorithm:  # GOST: `cryptography` cannot read it, the signature core can
        key = public_key_from_certificate(cert)
        size = getattr(key, "size", 0)
        return f"gost{8 * size}" if size else "unknown"
    return type(key).__name__.removeprefix("_").replace("PublicKey", "").lower() or "unknown"


class Participants:
    """Participants inside one unit of work."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def by_certificate(self, sha256: str) -> Participant | None:
        return participant_by_certificate(self._conn, sha256)

    def certificates(self) -> list[RegisteredCertificate]:
        return list_certificates(self._conn)

    # -- the console ----------------------------------------------------------------------------------

    def all(self) -> list[Participant]:
        p = participant
        rows = self._conn.execute(
            select(
                p.c.id,
                p.c.kind,
                p.c.code,
                p.c.name,
                p.c.active,
                p.c.log_bodies,
                p.c.legacy_sha1,
                p.c.file_encoding,
            ).order_by(p.c.kind, p.c.code)
        )
        return [Participant(*r) for r in rows]

    def upsert(self, kind: str, code: str, name: str) -> int:
        return upsert_participant(self._conn, kind, code, name)

    def get(self, participant_id: int) -> Participant | None:
        return next((p for p in self.all() if p.id == participant_id), None)

    def set_flags(self, participant_id: int, *, active: bool, log_bodies: bool) -> None:
        self._conn.execute(
            update(participant)
            .where(participant.c.id == participant_id)
            .values(active=active, log_bodies=log_bodies)
        )

    def set_file_encoding(self, kind: str, code: str, encoding: str) -> bool:
        """The encoding of the files written for a participant; False when there is no such participant."""
        done = self._conn.execute(
            update(participant)
            .where(participant.c.kind == kind, participant.c.code == code)
            .values(file_encoding=encoding)
        )
        return bool(done.rowcount)

    def certificate_rows(self) -> list[CertificateRow]:
        c = participant_certificate
        rows = self._conn.execute(
            select(
                c.c.id,
                c.c.participant_id,
                c.c.sha256,
                c.c.serial,
                c.c.subject,
                c.c.issuer,
                c.c.not_before,
                c.c.not_after,
                c.c.key_type,
                c.c.revoked_at,
                c.c.added_at,
            ).order_by(c.c.participant_id, c.c.not_after)
        )
        return [CertificateRow(*r) for r in rows]

    def revoke(self, certificate_id: int) -> int | None:
        """Mark a certificate revoked; returns its participant (None if unknown or revoked already)."""
        c = participant_certificate
        found: int | None = self._conn.execute(
            update(c)
            .where(c.c.id == certificate_id, c.c.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(c.c.participant_id)
        ).scalar_one_or_none()
        return found

    def register(self, participant_id: int, cert_pem: bytes) -> str:
        return register_certificate(self._conn, participant_id, cert_pem)


@dataclass(frozen=True)
class CertificateRow:
    id: int
    participant_id: int
    sha256: str
    serial: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    key_type: str
    revoked_at: datetime | None
    added_at: datetime
