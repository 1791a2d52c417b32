"""The hub's client of the СМЭВ 3 message exchange: signed envelopes, a timeout, a breaker, a journal.

* Requests are built and signed by ``smev/wire.py`` with the hub's GOST key (``var/pki/hub/gost/``);
  every answer's ``SMEVSignature`` is verified against the trusted CAs and, when the file is there,
  pinned to СМЭВ's certificate (``var/pki/smev/gost/cert.pem``, or ``RSERZ_SMEV_CERT``), and a delivered
  message's ``SenderInformationSystemSignature`` against the trusted CAs. Pointing the hub at a real
  СМЭВ 3 is configuration: ``RSERZ_SMEV_URL``, ``RSERZ_SMEV_VERSION``, ``RSERZ_SMEV_CERT``.
* Failures are sorted in two, as for ФЕРЗЛ: :class:`SmevUnavailable` (network, timeout, HTTP other than
  200/500, СМЭВ's own faults, an answer whose signature does not hold, an open circuit) and
  :class:`SmevError` (СМЭВ refused the message). ``MessageIsAlreadySent`` for a MessageID the hub sent
  before is success: every repeat of a send reuses its MessageID, so a resend after a lost answer is
  recognised. ``TargetMessageIsNotFound`` on Ack is reported as False (already acknowledged).
* The client never retries; RQ jobs do (``jobs/smev.py``). The breaker's state is in Redis when given.
* Every call is a row of the exchange journal (direction ``out``); every message taken from a queue one
  more (direction ``in``, its MessageID as the request id). No bodies (they hold personal data) unless
  ``RSERZ_SMEV_LOG_BODIES`` is on. Rows
  are written in batches off the call path; :meth:`SmevClient.close` writes what is left.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pybreaker
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.config import Settings
from rserz_soap.db import exchange
from rserz_soap.db.exchange import ExchangeRecord
from rserz_soap.db.uow import Database
from rserz_soap.smev import wire
from rserz_soap.smev.wire import CertificateCheck, Delivered, SmevFault, SmevSignatureError
from rserz_soap.usecases.smev_port import SmevError, SmevUnavailable
from rserz_soap.xmlsig.keys import KeyPair, load_keypair
from rserz_soap.xmlsig.trust import TrustStore

log = logging.getLogger(__name__)

SERVICE = "smev"


class _Transient(Exception):
    """Inside the breaker: a failure that counts towards opening it."""


class SmevClient:
    def __init__(
        self,
        endpoint: str,
        version: str,
        keypair: KeyPair,
        check: CertificateCheck,
        *,
        timeout: float = 30.0,
        breaker: pybreaker.CircuitBreaker | None = None,
        session: requests.Session | None = None,
        journal: Callable[[ExchangeRecord], None] | None = None,
        log_bodies: bool = False,
    ) -> None:
        if version not in wire.VERSIONS:
            raise ValueError(f"СМЭВ version must be one of {wire.VERSIONS}, got {version!r}")
        self.endpoint = endpoint
        self.version = version
        self.keypair = keypair
        self.check = check
        self.timeout = timeout
        self.breaker = breaker or make_breaker(None)
        self._session = session or requests.Session()
        self._journal = journal
        self.log_bodies = log_bodies  # message bodies hold personal data (152-ФЗ): off unless configured

    @classmethod
    def from_settings(
        cls, settings: Settings, redis: Any | None = None, db: Database | None = None
    ) -> SmevClient:
        pki = settings.pki_dir
        keypair = load_keypair(pki / "hub" / "gost" / "key.pem", pki / "hub" / "gost" / "cert.pem")
        smev_cert = Path(settings.smev_cert) if settings.smev_cert else pki / "smev" / "gost" / "cert.pem"
        pinned = frozenset({_fingerprint(smev_cert)}) if smev_cert.exists() else None
        # the pin is СМЭВ's: senders of delivered messages (ЗАГС, СФР) are checked against the CAs only
        return cls(
            settings.smev_endpoint,
            settings.smev_version,
            keypair,
            CertificateCheck(TrustStore.from_pki_dir(pki), pinned),
            timeout=settings.smev_timeout,
            breaker=make_breaker(
                redis, reset_timeout=settings.smev_breaker_reset, name=settings.smev_endpoint
            ),
            journal=_journal_into(db) if db is not None else None,
            log_bodies=settings.smev_log_bodies,
        )

    def close(self) -> None:
        """Write what the journal still holds (rows are batched off the call path)."""
        flush = getattr(self._journal, "flush", None)
        if callable(flush):
            flush()

    # -- operations --------------------------------------------------------------------------------------

    def send_request(self, content: Any, message_id: str, *, test: bool = False) -> str | None:
        """Send a request; returns СМЭВ's status of it (None when СМЭВ already had this MessageID)."""
        payload = wire.send_request(self.version, message_id, content, self.keypair, test=test)
        answer = self._call(
            f"SendRequest:{etree.QName(content).localname}", payload, message_id, already_sent_ok=True
        )
        if answer is None:
            return None
        return self._metadata(answer).get("status")

    def send_response(
        self, to: str, message_id: str, *, content: Any | None = None, rejected: tuple[str, str] | None = None
    ) -> str | None:
        payload = wire.send_response(
            self.version, message_id, to, self.keypair, content=content, rejected=rejected
        )
        name = etree.QName(content).localname if content is not None else "RequestRejected"
        answer = self._call(f"SendResponse:{name}", payload, message_id, already_sent_ok=True)
        if answer is None:
            return None
        return self._metadata(answer).get("status")

    def get_request(self, *, namespace: str | None = None, root: str | None = None) -> Delivered | None:
        return self._get("GetRequestRequest", namespace, root)

    def get_response(self, *, namespace: str | None = None, root: str | None = None) -> Delivered | None:
        return self._get("GetResponseRequest", namespace, root)

    def ack(self, message_id: str, *, accepted: bool = True) -> bool:
        """Acknowledge a delivered message; False when СМЭВ no longer holds it (acknowledged before)."""
        try:
            self._call("Ack", wire.ack(self.version, message_id, self.keypair, accepted=accepted), message_id)
        except SmevError as exc:
            if exc.code == "TargetMessageIsNotFound":
                return False
            raise
        return True

    def get_status(self) -> Any | None:
        answer = self._call("GetStatus", wire.get_status(self.version, self.keypair), None)
        return wire.child(answer, "SmevAsyncProcessingMessage") if answer is not None else None

    # -- plumbing ----------------------------------------------------------------------------------------

    def _get(self, operation: str, namespace: str | None, root: str | None) -> Delivered | None:
        payload = wire.get_message(self.version, operation, self.keypair, namespace=namespace, root=root)
        answer = self._call(operation.replace("Request", "", 1) + (f":{root}" if root else ""), payload, None)
        try:
            delivered = wire.read_delivery(answer, self.check)
        except SmevSignatureError as exc:
            log.error("СМЭВ %s: delivered message refused: %s", operation, exc)
            self._record("in", operation, "error", None, exc.code[:16], 0)
            raise SmevUnavailable(
                f"СМЭВ {operation}: the delivered message's signature does not hold ({exc})"
            ) from None
        if delivered is not None:
            name = (
                etree.QName(delivered.content).localname
                if delivered.content is not None
                else "RequestRejected"
            )
            bad = delivered.sender_signature_problem
            if bad:
                log.error(
                    "СМЭВ %s: the sender's signature of %s does not hold: %s",
                    operation,
                    delivered.message_id,
                    bad,
                )
            code = bad.split(":", 1)[0][:16] if bad else None
            self._record("in", name, "fault" if bad else "ok", delivered.message_id, code, 0)
        return delivered

    def _metadata(self, answer: Any) -> dict[str, str | None]:
        try:
            return dict(wire.read_metadata(answer, self.check))
        except SmevSignatureError as exc:
            raise SmevUnavailable(f"СМЭВ answer's signature does not hold ({exc})") from None

    def _call(
        self, operation: str, payload: bytes, message_id: str | None, *, already_sent_ok: bool = False
    ) -> Any:
        started = time.perf_counter()
        outcome: str = "error"
        code: str | None = "UNAVAILABLE"
        received: list[bytes] = []
        try:
            answer = self.breaker.call(self._exchange, payload, received)
            outcome, code = "ok", None
            return answer
        except pybreaker.CircuitBreakerError as exc:
            code = "CIRCUIT_OPEN"
            raise SmevUnavailable(f"СМЭВ circuit open: {exc}") from None
        except _Transient as exc:
            raise SmevUnavailable(str(exc)) from None
        except SmevFault as fault:
            outcome, code = "fault", fault.name[:16]
            if already_sent_ok and fault.name == "MessageIsAlreadySent":
                outcome = "ok"
                return None
            raise SmevError(fault.name, fault.text) from None
        finally:
            bodies = (payload, received[0] if received else None) if self.log_bodies else None
            self._record(
                "out",
                operation,
                outcome,
                message_id,
                code,
                int((time.perf_counter() - started) * 1000),
                bodies,
            )

    def _exchange(self, payload: bytes, received: list[bytes]) -> Any:
        try:
            response = self._session.post(
                self.endpoint,
                data=payload,
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": ""},
                timeout=self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(f"СМЭВ unreachable: {type(exc).__name__}") from None
        received.append(response.content)
        kind = response.headers.get("Content-Type", "")
        if response.status_code not in (200, 500) or "xml" not in kind:
            raise _Transient(f"СМЭВ: HTTP {response.status_code}")
        try:
            answer = wire.body_element(wire.parse(response.content))
        except (etree.XMLSyntaxError, SmevFault) as exc:
            raise _Transient(f"СМЭВ: unreadable answer ({exc})") from None
        if answer.tag == f"{{{wire.SOAP_ENV}}}Fault":
            fault = wire.parse_fault(answer)
            if fault.server:
                raise _Transient(f"СМЭВ: {fault}")
            raise fault
        return answer

    def _record(
        self,
        direction: str,
        operation: str,
        outcome: str,
        message_id: str | None,
        code: str | None,
        ms: int,
        bodies: tuple[bytes, bytes | None] | None = None,
    ) -> None:
        if self._journal is None:
            return
        self._journal(
            ExchangeRecord(
                uuid.uuid4(),
                direction,
                SERVICE,
                operation[:64],
                outcome,
                peer="smev",
                request_id=_uuid_or_none(message_id),
                error_code=code,
                duration_ms=ms,
                request_body=bodies[0].decode("utf-8", "replace") if bodies else None,
                response_body=bodies[1].decode("utf-8", "replace") if bodies and bodies[1] else None,
            )
        )


def _uuid_or_none(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


class _Journal:
    """Journal rows batched by ``exchange.JournalWriter`` (a transaction per row would cost more than the
    call it records); :meth:`SmevClient.close` writes the rest."""

    def __init__(self, db: Database) -> None:
        self._writer = exchange.JournalWriter(db.engine)

    def __call__(self, rec: ExchangeRecord) -> None:
        self._writer.submit(rec, log_bodies=rec.request_body is not None)

    def flush(self) -> None:
        self._writer.flush()


def _journal_into(db: Database) -> Callable[[ExchangeRecord], None]:
    return _Journal(db)


def _fingerprint(path: Path) -> str:
    return x509.load_pem_x509_certificate(path.read_bytes()).fingerprint(hashes.SHA256()).hex()


def breaker_key(name: str) -> str:
    return f"rserz:breaker:smev:{name}"


def make_breaker(
    redis: Any | None, *, fail_max: int = 5, reset_timeout: float = 30, name: str = "smev"
) -> pybreaker.CircuitBreaker:
    """One breaker per СМЭВ endpoint; in Redis when given, so every process of the hub shares it."""
    storage = None
    if redis is not None:
        storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, redis, namespace=breaker_key(name))
    return pybreaker.CircuitBreaker(
        fail_max=fail_max,
        reset_timeout=reset_timeout,
        exclude=[SmevError, SmevFault],
        state_storage=storage,
        name=f"smev:{name}",
    )
