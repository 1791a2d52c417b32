"""The SOAP endpoint: one WSGI application for every service under ``/soap/<service>``.

A request goes through, in order: the hardening front (method, content type, size, a safe parse), the
security gate (signature, trust, participant, freshness, replay), the contract (operation, namespace,
schema validation of the body against ``contract/xsd/``), authorisation by participant kind, the handler — which
parses, calls one use case and renders its answer (writes are idempotent by REQUEST_ID inside their use
case) — and the hub's signature on the answer. Every request — answered or refused — is in
the exchange journal with its correlation id. The contract files are the source of truth: ``?wsdl``
serves ``contract/wsdl/<service>.wsdl`` with the address filled in, and ``/xsd/<file>`` serves the schemas it
imports, so a client needs nothing but the URL.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from prometheus_client import Counter

from rserz_soap.config import Settings
from rserz_soap.db import exchange
from rserz_soap.db.disclosures import DisclosureWriter
from rserz_soap.db.exchange import JournalWriter
from rserz_soap.db.health import unreachable
from rserz_soap.db.uow import Database
from rserz_soap.domain.buffer import Submitter
from rserz_soap.domain.records import FormatError
from rserz_soap.soap.faults import SOAP_ENV, FaultCode, SoapFault, fault_bytes, fault_envelope
from rserz_soap.soap.hardening import Limits, check_content_type, parse_envelope, read_body
from rserz_soap.soap.security import Caller, Gate
from rserz_soap.usecases.intake import Intake
from rserz_soap.usecases.once import IdempotencyConflict, RequestKey
from rserz_soap.xmlsig.keys import KeyPair
from rserz_soap.xmlsig.wsse import sign_envelope

log = logging.getLogger(__name__)

#: requests refused before their sender was trusted: counted, not signed, not journaled
REFUSED = Counter("rserz_soap_refused_total", "SOAP requests refused before the gate trusted them", ["code"])

CONTRACT_DIR = Path(__file__).resolve().parent / "contract"  # shipped in the wheel
WSDL_DIR = CONTRACT_DIR / "wsdl"
XSD_DIR = CONTRACT_DIR / "xsd"
#: The address written in every wsdl/*.wsdl's soap:address; served WSDLs carry the hub's real address there
#: (and only there: the same text in a comment or documentation stays as written).
ADDRESS_PLACEHOLDER = re.compile(r'(<soap:address\s+location=")http://localhost:8080/soap/([a-z]+)(")')
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?")


@dataclass(frozen=True)
class Hub:
    """What handlers work with: the register's database, the intake's configuration, the settings."""

    db: Database
    intake: Intake
    settings: Settings
    #: called after a request leaves changes awaiting ФЕРЗЛ, to push them now rather than at the
    #: scheduler's next tick (the web process enqueues the push job); never lets a request fail
    federal_waiting: Callable[[], None] | None = None


@dataclass
class Request:
    """What a handler gets: the trusted caller, the validated operation element and the hub."""

    caller: Caller
    element: Any
    service: str
    operation: str
    correlation_id: str
    hub: Hub
    #: per record (1-based position of the ``Operation.records`` element): its format errors, if any
    record_errors: dict[int, tuple[FormatError, ...]] = field(default_factory=dict)
    #: the persons the answer shows (internal ids), for the disclosure log
    disclosed: set[int] = field(default_factory=set)

    def disclose(self, person_ids: Iterable[int | None]) -> None:
        """The answer shows these persons: the disclosure log records them (152-ФЗ)."""
        self.disclosed.update(i for i in person_ids if i)

    @property
    def submitter(self) -> Submitter:
        p = self.caller.participant
        return Submitter(p.id, p.kind, p.code)

    def key(self) -> RequestKey:
        """The write's idempotency key: the caller, its REQUEST_ID, the operation, the canonical body's digest."""
        digest = hashlib.sha256(etree.tostring(self.element, method="c14n", exclusive=True)).hexdigest()
        return RequestKey(self.caller.participant.id, _request_id(self.element), self.operation, digest)


Handler = Callable[[Request], Any]


@dataclass(frozen=True)
class Operation:
    handler: Handler
    kinds: frozenset[str]  # participant kinds allowed to call it
    write: bool = False  # carries REQUEST_ID; its use case answers once per id
    #: the element of one record of a batch (OP): a field of a record that fails its type or pattern is
    #: that record's error (F012 901–904), handed to the handler, not a Fault for the whole batch
    records: str | None = None


@dataclass
class Service:
    name: str
    namespace: str
    operations: dict[str, Operation]
    _schemas: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    @property
    def schema(self) -> Any:
        """This thread's XMLSchema of the service. One per thread, not one per process: ``validate`` is safe
        to call from several threads, but its ``error_log`` — which the faults of an invalid request are
        read from — belongs to the schema object and is replaced by every validation, so a shared schema
        under threaded workers could name another request's error (or none)."""
        schema = getattr(self._schemas, "schema", None)
        if schema is None:
            schema = self._schemas.schema = etree.XMLSchema(etree.parse(str(XSD_DIR / f"{self.name}.xsd")))
        return schema


class SoapApp:
    def __init__(
        self,
        hub: Hub,
        gate: Gate,
        keypair: KeyPair,
        services: Iterable[Service],
        *,
        limits: Limits | None = None,
        validate_responses: bool = False,
        gost_keypair: KeyPair | None = None,
    ) -> None:
        self.hub = hub
        self.gost_keypair = gost_keypair
        self.settings = hub.settings
        self.gate = gate
        self.keypair = keypair
        self.services = {s.name: s for s in services}
        self.limits = limits or Limits()
        self.validate_responses = validate_responses  # the contract tests turn it on: answers must match xsd/
        self.journal = JournalWriter(hub.db.engine)
        self.disclosures = DisclosureWriter(hub.db.engine)

    # -- WSGI --------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/xsd/"):
            return self._static(XSD_DIR, path[5:], start_response)
        name = path.removeprefix("/soap/").strip("/")
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "GET" and environ.get("QUERY_STRING", "").lower() in ("wsdl", "wsdl="):
            return self._serve_wsdl(name, environ, start_response)
        status, body = self.handle(name, environ)
        start_response(
            status, [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))]
        )
        return [body]

    def handle(self, name: str, environ: dict[str, Any]) -> tuple[str, bytes]:
        cid = uuid.uuid4()
        correlation_id = str(cid)
        started = time.perf_counter()
        caller: Caller | None = None
        operation = "?"
        raw = b""
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise SoapFault(FaultCode.METHOD)
            service = self.services.get(name)
            if service is None:
                raise SoapFault(FaultCode.UNKNOWN_OPERATION, "no such service")
            check_content_type(environ.get("CONTENT_TYPE"), self.limits)
            raw = read_body(environ["wsgi.input"], environ.get("CONTENT_LENGTH"), self.limits)
            envelope = parse_envelope(raw, self.limits)
            caller = self.gate.admit(envelope)
            element = caller.body[0]
            qname = etree.QName(element)
            operation = qname.localname
            if qname.namespace != service.namespace:
                raise SoapFault(FaultCode.WRONG_NAMESPACE, f"this service serves {service.namespace}")
            op = service.operations.get(operation)
            if op is None:
                raise SoapFault(FaultCode.UNKNOWN_OPERATION)
            bad_records = {} if service.schema.validate(element) else record_errors(service, op, element)
            if caller.participant.kind not in op.kinds:
                raise SoapFault(FaultCode.FORBIDDEN, f"{caller.participant.kind} → {name}.{operation}")
            request = Request(caller, element, name, operation, correlation_id, self.hub, bad_records)
            body = self._answer(op, request)
            self.disclosures.submit(caller.participant.id, operation, cid, request.disclosed)
            self._journal(name, operation, cid, caller, "ok", None, started, raw, body)
            return "200 OK", body
        except SoapFault as fault:
            if caller is None:  # never passed the gate: no signature, no journal row of ours, a counter
                REFUSED.labels(fault.kind.code).inc()
                return "500 Internal Server Error", fault_bytes(fault, correlation_id)
            body = self._signed(fault_envelope(fault, correlation_id), caller)
            self._journal(name, operation, cid, caller, "fault", fault.kind.code, started, raw, body)
            return "500 Internal Server Error", body
        except Exception as exc:
            if _outage(exc):  # PostgreSQL or Redis restarting: the client retries (SRV-001), no traceback
                log.warning("request %s: %s", correlation_id, _first_line(exc))
                unavailable = SoapFault(FaultCode.UNAVAILABLE)
                if caller is None:
                    return "500 Internal Server Error", fault_bytes(unavailable, correlation_id)
                body = self._signed(fault_envelope(unavailable, correlation_id), caller)
                self._journal(
                    name,
                    operation,
                    cid,
                    caller,
                    "fault",
                    FaultCode.UNAVAILABLE.code,
                    started,
                    raw,
                    body,
                )
                return "500 Internal Server Error", body
            log.exception("request %s failed", correlation_id)
            body = self._signed(fault_envelope(SoapFault(FaultCode.INTERNAL), correlation_id), caller)
            self._journal(name, operation, cid, caller, "error", FaultCode.INTERNAL.code, started, raw, body)
            return "500 Internal Server Error", body

    # -- answering ---------------------------------------------------------------------------------------

    def _answer(self, op: Operation, request: Request) -> bytes:
        handler = op.handler if not self.validate_responses else self._validated(op.handler, request.service)
        if op.write:
            _request_id(request.element)  # the schema requires it; a write without one is refused here
        try:
            return self._signed(_envelope(handler(request)), request.caller)
        except IdempotencyConflict:
            raise SoapFault(FaultCode.IDEMPOTENCY_CONFLICT) from None

    def _validated(self, handler: Handler, service: str) -> Handler:
        def checked(request: Request) -> Any:
            schema = self.services[service].schema
            response = handler(request)
            if not schema.validate(response):
                raise AssertionError(f"{service} answer breaks the contract: {schema.error_log}")
            return response

        return checked

    def _signed(self, envelope: Any, caller: Caller | None) -> bytes:
        """Signed with the hub's GOST key for a caller that signs with GOST, with its RSA key otherwise."""
        gost = caller is not None and caller.gost and self.gost_keypair is not None
        sign_envelope(envelope, self.gost_keypair if gost and self.gost_keypair else self.keypair)
        return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))

    def _journal(
        self,
        service: str,
        operation: str,
        correlation_id: uuid.UUID,
        caller: Caller | None,
        outcome: str,
        code: str | None,
        started: float,
        raw: bytes,
        body: bytes,
    ) -> None:
        log_bodies = caller.participant.log_bodies if caller else False
        rec = exchange.ExchangeRecord(
            correlation_id,
            "in",
            service or "?",
            operation[:64],
            outcome,
            participant_id=caller.participant.id if caller else None,
            signature_result="valid"
            if caller
            else ("refused" if code and code.startswith("SEC-1") else None),
            error_code=code,
            duration_ms=int((time.perf_counter() - started) * 1000),
            # decoded only when kept: the journal drops the bodies of a participant that does not log them
            request_body=raw.decode("utf-8", "replace") if log_bodies else None,
            response_body=body.decode("utf-8", "replace") if log_bodies else None,
        )
        self.journal.submit(rec, log_bodies=log_bodies)

    # -- contract files ----------------------------------------------------------------------------------

    def _serve_wsdl(
        self, name: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        path = WSDL_DIR / f"{name}.wsdl"
        if name not in self.services or not path.exists():
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such service"]
        host = environ.get("HTTP_HOST") or ""
        if not _HOST.fullmatch(host):  # an odd Host header is not written into the contract
            host = self._host()
        base = f"{'https' if environ.get('wsgi.url_scheme') == 'https' else 'http'}://{host}"
        text = ADDRESS_PLACEHOLDER.sub(
            lambda m: f"{m.group(1)}{base}/soap/{m.group(2)}{m.group(3)}", path.read_text(encoding="utf-8")
        )
        data = text.encode("utf-8")
        start_response(
            "200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(data)))]
        )
        return [data]

    def _host(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    @staticmethod
    def _static(folder: Path, name: str, start_response: Callable[..., Any]) -> list[bytes]:
        path = folder / name
        if "/" in name or not name.endswith(".xsd") or not path.is_file():
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        data = path.read_bytes()
        start_response(
            "200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(data)))]
        )
        return [data]


_QUOTED_VALUE = re.compile(r"The value '.*?' |(?<=': )'.*?' (?=is not)", re.S)
_NAMESPACE = re.compile(r"\{[^}]*[:/][^}]*\}")  # a namespace URI, not a pattern's {16}
_MISSING = re.compile(r"Expected is \( (?:\{[^}]*\})?(\w+)")
#: libxml2's kinds of schema error → the F012 format code of a record's field
_FORMAT_CODES = {
    "SCHEMAV_ELEMENT_CONTENT": "901",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_3": "901",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_4": "901",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2": "901",
    "SCHEMAV_CVC_COMPLEX_TYPE_4": "901",
    "SCHEMAV_CVC_ENUMERATION_VALID": "904",
}


def _steps(err: Any) -> list[str]:
    return [s.split(":")[-1] for s in (err.path or "").strip("/").split("/") if s]


def _reason(err: Any) -> str:
    """libxml2's reason without the offending value: the participant knows what it sent, and an answer
    never echoes input."""
    return _NAMESPACE.sub(
        "",
        _QUOTED_VALUE.sub(lambda m: "The value " if m.group(0).startswith("The") else "", err.message or ""),
    )[:300]


def schema_fault(error_log: Any) -> SoapFault:
    """REQ-002 naming the element at fault and its parent (``FIELD``/``PARENT``), from the first error."""
    err = error_log[0] if len(error_log) else None
    if err is None:
        return SoapFault(FaultCode.SCHEMA)
    steps = [s.split("[")[0] for s in _steps(err)]
    field = steps[-1] if steps else None
    parent = steps[-2] if len(steps) > 1 else None
    return SoapFault(FaultCode.SCHEMA, _reason(err), field=field, parent=parent)


def record_errors(service: Service, op: Operation, element: Any) -> dict[int, tuple[FormatError, ...]]:
    """The schema's findings grouped by record, when every one lies inside a record; else REQ-002.

    The batch without the faulty records is validated again, so a fault outside them is never hidden."""
    errors = list(service.schema.error_log)
    if op.records is None:
        raise schema_fault(errors)
    found: dict[int, list[FormatError]] = {}
    for err in errors:
        steps = _steps(err)
        at = next((i for i, s in enumerate(steps) if s.split("[")[0] == op.records), None)
        if at is None:
            raise schema_fault([err])  # the batch's own shape: the envelope-level problem is the batch's
        position = int(steps[at].partition("[")[2].rstrip("]") or 1)
        names = [s.split("[")[0] for s in steps]
        field, parent = names[-1], names[-2]
        missing = _MISSING.search(err.message or "")
        if missing and err.type_name == "SCHEMAV_CVC_COMPLEX_TYPE_2_4":  # the last required child is absent
            field, parent = missing.group(1), names[-1]
        elif missing and err.type_name == "SCHEMAV_ELEMENT_CONTENT":  # found X where a required Y belongs
            field = missing.group(1)
        code = _FORMAT_CODES.get(err.type_name, "903")
        if err.type_name == "SCHEMAV_CVC_MINLENGTH_VALID" and "length of '0'" in (err.message or ""):
            code = "902"
        found.setdefault(position, []).append(FormatError(code, field, parent, _reason(err)))
    rest = copy.deepcopy(element)
    records = [c for c in rest.iter() if isinstance(c.tag, str) and etree.QName(c).localname == op.records]
    for position in sorted(found, reverse=True):
        if position <= len(records):
            bad = records[position - 1]
            bad.getparent().remove(bad)
    if len(found) < len(records) and not service.schema.validate(rest):
        raise schema_fault(service.schema.error_log)
    return {k: tuple(v) for k, v in found.items()}


def _envelope(body_child: Any) -> Any:
    env = etree.Element(etree.QName(SOAP_ENV, "Envelope"), nsmap={"soap": SOAP_ENV})
    etree.SubElement(env, etree.QName(SOAP_ENV, "Body")).append(body_child)
    return env


def _request_id(element: Any) -> uuid.UUID:
    for child in element:
        if etree.QName(child).localname == "REQUEST_ID":
            return uuid.UUID(child.text)
    raise SoapFault(FaultCode.SCHEMA, "REQUEST_ID is required for this operation")


def _outage(exc: BaseException) -> bool:
    """PostgreSQL or Redis cannot be reached right now (restarting, stopped): the request may be retried."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    cause: BaseException | None = exc
    for _ in range(20):  # the chain of causes, not forever
        if cause is None:
            break
        if isinstance(cause, (RedisConnectionError, RedisTimeoutError)):
            return True
        cause = cause.__cause__ or cause.__context__
    return unreachable(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
