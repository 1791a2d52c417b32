"""Participants of the exchange and their certificates, as the ТФОМС administrator manages them.

The SOAP gate caches a participant for a minute (``soap/security.py``), so a deactivation, a revocation or a
change of body logging takes effect within that minute on every web process.
"""

from __future__ import annotations

from dataclasses import dataclass

from rserz_soap.db.participants import CertificateRow, Participant
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.files.change_files import ENCODINGS

__all__ = [
    "CertificateRow",
    "Participant",
    "ParticipantView",
    "enrol",
    "listing",
    "register_certificate",
    "revoke",
    "set_file_encoding",
    "set_flags",
]


class ParticipantError(ValueError):
    pass


@dataclass(frozen=True)
class ParticipantView:
    participant: Participant
    certificates: list[CertificateRow]


def listing(uow: UnitOfWork) -> list[ParticipantView]:
    with uow:
        certs = uow.participants.certificate_rows()
        return [
            ParticipantView(p, [c for c in certs if c.participant_id == p.id]) for p in uow.participants.all()
        ]


def all_participants(uow: UnitOfWork) -> list[Participant]:
    with uow:
        return uow.participants.all()


def set_flags(uow: UnitOfWork, participant_id: int, *, active: bool, log_bodies: bool) -> Participant:
    """Switch a participant on or off, and its body logging (152-ФЗ: off unless needed); returns it as it was."""
    with uow:
        before = uow.participants.get(participant_id)
        if before is None:
            raise ParticipantError(f"нет участника {participant_id}")
        uow.participants.set_flags(participant_id, active=active, log_bodies=log_bodies)
        return before


def set_file_encoding(uow: UnitOfWork, kind: str, code: str, encoding: str) -> None:
    """The encoding of the files the hub writes for a participant (the daily СМО package)."""
    if encoding not in ENCODINGS:
        raise ParticipantError(f"кодировка {encoding!r} не поддерживается: {', '.join(ENCODINGS)}")
    with uow:
        if not uow.participants.set_file_encoding(kind, code, encoding):
            raise ParticipantError(f"нет участника {kind}:{code}")


def revoke(uow: UnitOfWork, certificate_id: int) -> int:
    """Revoke a registered certificate; returns its participant."""
    with uow:
        pid = uow.participants.revoke(certificate_id)
    if pid is None:
        raise ParticipantError("сертификат не найден или уже отозван")
    return pid


KINDS = ("smo", "mo", "iszl", "ferzl", "smev", "tfoms")


def enrol(uow: UnitOfWork, kind: str, code: str, name: str | None, pem: bytes) -> tuple[Participant, str]:
    """Register a certificate for the participant ``kind``/``code`` (created when ``name`` is given and it
    is not known yet); returns the participant and the certificate's SHA-256. The old certificate stays
    valid until it is revoked or expires, so a participant can switch keys without a gap."""
    if kind not in KINDS:
        raise ParticipantError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    with uow:
        known = next((p for p in uow.participants.all() if p.kind == kind and p.code == code), None)
        if known is None:
            if not name:
                raise ParticipantError(f"no participant {kind}:{code}; give --name to create it")
            pid = uow.participants.upsert(kind, code, name)
        else:
            pid = known.id
        try:
            sha = uow.participants.register(pid, pem)
        except ValueError as exc:
            raise ParticipantError(f"не удалось прочитать сертификат: {exc}") from None
        participant = uow.participants.get(pid)
        assert participant is not None
        return participant, sha


def register_certificate(uow: UnitOfWork, participant_id: int, pem: bytes) -> str:
    """Bind a PEM certificate to a participant; returns its SHA-256 fingerprint."""
    with uow:
        if uow.participants.get(participant_id) is None:
            raise ParticipantError(f"нет участника {participant_id}")
        try:
            return uow.participants.register(participant_id, pem)
        except ValueError as exc:
            raise ParticipantError(f"не удалось прочитать сертификат: {exc}") from None
