"""The ФЕРЗЛ emulator as ФОМС's description v5.07 describes the service: versions, token, SOAP, MTOM.

Routes (under ``/ferzl``):

* ``POST /ferzl/auth/token`` — JSON ``{"login", "password"}`` → ``{"token", "expiresIn"}``. The document
  (§1.3.1) shows a JWT (HS256) in HTTP header ``X-Auth-Token`` and does not say how it is issued: this
  endpoint is our guess, kept small. The credential is the stand's (``settings.ferzl_login`` and the
  password in ``settings.ferzl_password_file``); tokens expire after ``token_ttl`` seconds.
* ``GET …/api/t-foms/integration/ws/<version>/wsdl/<service>Ws.wsdl`` and ``…/xsd/<schema>.xsd`` — the
  contract of a served version (§1.4.2 address pattern);
* ``POST …/api/t-foms/integration/ws/<version>/wsdl/<service>Ws`` — SOAP 1.1, no SOAP header, no
  WS-Security (§1.3). HTTP statuses as Таблица 1 (§1.1): 400 a request that is not SOAP, not of this
  version's namespace, not valid against the schema, or names a version not served; 401 no token or an
  expired/forged one; 403 a token without the right (a read-only token on a write method); 409 a
  business refusal — the method's own answer with ``errors/errorItem``; 500 the federal side failed.
  Faults of 400/401/403/500 are SOAP Faults; a 409 is a normal answer carrying ``errors``.
* anything else under ``/ferzl`` goes to ``legacy`` (the invented dialect that reconciliation still uses
  until it moves to the витрины: docs/federal.md).

Every answer repeats the request's ``externalRequestId`` first; a write answered once is answered the
same again for the same ``externalRequestId``. Bulk results (``content``) travel as MTOM/XOP attachments
(``multipart/related``), each a ZIP file.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects.postgresql import insert

from rserz_soap.emulators.faults import draw
from rserz_soap.emulators.ferzl.faults import Faults, FaultSwitch
from rserz_soap.emulators.ferzl.mpi_contract import SCHEMA_NAMES, schema, schema_text, wsdl_text
from rserz_soap.emulators.ferzl.store import fed_answer
from rserz_soap.federal.contract import API_PATH, COMMON, SERVICES, Op, ServiceSpec, service_of, types_ns
from rserz_soap.soap.faults import SOAP_ENV, SoapFault
from rserz_soap.soap.hardening import Limits, check_content_type, parse_envelope, read_body

__all__ = [
    "AUTH_PATH",
    "DEFAULT_VERSIONS",
    "WRITE_METHODS",
    "Answer",
    "Ctx",
    "MpiApp",
    "MpiError",
    "Tokens",
    "read_password",
]

log = logging.getLogger(__name__)

DEFAULT_VERSIONS: Final = ("24.1.4", "24.2.6")
AUTH_PATH: Final = "/auth/token"
XOP_NS: Final = "http://www.w3.org/2004/08/xop/include"
#: methods that change the federal register: a read-only token gets 403, a repeat gets the first answer
WRITE_METHODS: Final = frozenset(
    {
        "submitPolicyApplication",
        "submitPolicyApplicationWithSign",
        "registerAttach",
        "registerAddress",
        "registerDudl",
        "registerSnils",
        "makeNilIdentDecision",
        "suspendOmsPolicyStart",
        "submitMassPolicyAppointmentStart",
        "changeAllPoliciesInsuranceToTfomsStart",
    }
)

StartResponse = Callable[..., Any]


class MpiError(Exception):
    """A business refusal (HTTP 409): the method's answer with ``errors/errorItem``."""

    def __init__(
        self, code: str, message: str, *, tag: str | None = None, value: str | None = None, http: int = 409
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.tag, self.value, self.http = code, message, tag, value, http


class _Fault(Exception):
    def __init__(self, http: int, text: str) -> None:
        super().__init__(text)
        self.http, self.text = http, text


@dataclass
class Answer:
    """What a method returns: the children after ``externalRequestId`` (and ``errors``), maybe a ZIP."""

    children: list[Any] = field(default_factory=list)
    content: bytes | None = None  # the ``content`` attachment of a Poll (appended as the last child)
    errors: list[MpiError] = field(default_factory=list)


@dataclass(frozen=True)
class Ctx:
    """What a method sees: the store, the version's namespaces, the switches, the caller's region; for a
    write, the transaction its answer is stored in."""

    engine: Engine
    version: str
    schema: str
    faults: Faults
    region_okato: str
    region_code: str
    conn: Connection | None = None

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """The transaction a write changes the register in: the one that stores its answer
        (``MpiApp._once``), so the change and the answer to a repeat commit together (a refusal rolls it
        back whole) — or a transaction of its own outside a write."""
        if self.conn is None:
            with self.engine.begin() as conn:
                yield conn
            return
        yield self.conn

    def ns(self, schema: str | None = None) -> str:
        return types_ns(self.version, schema or self.schema)

    @property
    def com(self) -> str:
        return types_ns(self.version, COMMON)


Method = Callable[[Ctx, Any], Answer]

# -- tokens ----------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def read_password(path: Path) -> str:
    """The stand's password, made (random) the first time it is asked for."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24) + "\n", encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


class Tokens:
    """JWT-shaped tokens (HS256, as the document's sample), signed with a key of this process."""

    def __init__(self, login: str, password: str, ttl: float = 3600.0) -> None:
        self.login, self._password, self.ttl = login, password, ttl
        self._key = secrets.token_bytes(32)

    def issue(self, login: str, password: str, *, scope: str = "tfoms") -> tuple[str, int]:
        if not (hmac.compare_digest(login, self.login) and hmac.compare_digest(password, self._password)):
            raise PermissionError("wrong login or password")
        return self.make(scope)

    def make(self, scope: str = "tfoms", ttl: float | None = None) -> tuple[str, int]:
        lifetime = int(self.ttl if ttl is None else ttl)
        header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        claims: dict[str, Any] = {"iss": self.login, "session-id": str(uuid.uuid4()), "scope": scope}
        claims["exp"] = int(time.time()) + lifetime
        payload = _b64(json.dumps(claims).encode())
        signature = _b64(hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return f"{header}.{payload}.{signature}", lifetime

    def check(self, token: str | None) -> dict[str, Any]:
        """The token's claims; PermissionError when it is missing, forged or expired."""
        if not token:
            raise PermissionError("no X-Auth-Token")
        try:
            header, payload, signature = token.split(".")
            expected = _b64(hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
            if not hmac.compare_digest(signature, expected):
                raise PermissionError("the token is not ours")
            claims: dict[str, Any] = json.loads(_unb64(payload))
        except (ValueError, json.JSONDecodeError):
            raise PermissionError("the token is malformed") from None
        if claims.get("exp", 0) < time.time():
            raise PermissionError("the token has expired")
        return claims


# -- the application ---------------------------------------------------------------------------------------


class MpiApp:
    """The document's ФЕРЗЛ over one store; ``legacy`` answers what is not the document's."""

    def __init__(
        self,
        engine: Engine,
        tokens: Tokens,
        methods: dict[str, Method],
        *,
        versions: Iterable[str] = DEFAULT_VERSIONS,
        region_okato: str = "45000",
        region_code: str = "45",
        legacy: Callable[..., Iterable[bytes]] | None = None,
        faults: FaultSwitch | None = None,
        mount: str = "/ferzl",
        limits: Limits | None = None,
    ) -> None:
        self.engine = engine
        self.tokens = tokens
        self.methods = methods
        self.versions = tuple(versions)
        self.region_okato, self.region_code = region_okato, region_code
        self.legacy = legacy
        self.faults = faults or FaultSwitch(engine)
        self.mount = mount
        self.limits = limits or Limits(max_body_bytes=16 * 1024 * 1024)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        rest = path[len(self.mount) :] if path.startswith(self.mount) else None
        if rest == AUTH_PATH:
            return self._token(environ, start_response)
        if rest is not None and rest.startswith(API_PATH + "/"):
            return self._api(rest[len(API_PATH) + 1 :], environ, start_response)
        if self.legacy is not None:
            return self.legacy(environ, start_response)
        return _reply(start_response, 404, b"not found", "text/plain")

    # -- token ---------------------------------------------------------------------------------------

    def _token(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _reply(start_response, 405, b"POST login and password", "text/plain")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(min(length, 65536)) or b"{}")
            token, ttl = self.tokens.issue(str(body.get("login", "")), str(body.get("password", "")))
        except PermissionError as exc:
            return _json(start_response, 401, {"error": str(exc)})
        except (ValueError, json.JSONDecodeError, AttributeError):
            return _json(start_response, 400, {"error": 'expected {"login": …, "password": …}'})
        return _json(start_response, 200, {"token": token, "expiresIn": ttl})

    # -- contract and SOAP ---------------------------------------------------------------------------

    def _api(self, rest: str, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        version, _, tail = rest.partition("/")
        kind, _, name = tail.partition("/")
        method = environ.get("REQUEST_METHOD", "GET")
        if version not in self.versions:
            text = f"API version {version!r} is not served; this stand serves {', '.join(self.versions)}"
            return self._fault(start_response, 400, text, None)
        base = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', 'localhost')}"
        root = f"{base}{self.mount}{API_PATH}/{version}"
        if method == "GET" and kind == "xsd" and name.removesuffix(".xsd") in SCHEMA_NAMES:
            text = schema_text(version, name.removesuffix(".xsd"))
            return _reply(start_response, 200, text.encode("utf-8"), "text/xml; charset=utf-8")
        svc = service_of(name.removesuffix(".wsdl")) if kind == "wsdl" else None
        if svc is None:
            return _reply(start_response, 404, b"no such service", "text/plain")
        if method == "GET" and name.endswith(".wsdl"):
            text = wsdl_text(version, svc, f"{root}/wsdl/{svc.file}", f"{root}/xsd")
            return _reply(start_response, 200, text.encode("utf-8"), "text/xml; charset=utf-8")
        if method != "POST" or name.endswith(".wsdl"):
            return _reply(start_response, 405, b"POST SOAP or GET the .wsdl", "text/plain")
        status, headers, body = self.handle(version, svc, environ)
        start_response(_status_line(status), [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def handle(self, version: str, svc: ServiceSpec, environ: dict[str, Any]) -> tuple[int, list[Any], bytes]:
        request_id: str | None = None
        try:
            try:
                claims = self.tokens.check(environ.get("HTTP_X_AUTH_TOKEN"))
            except PermissionError as exc:
                raise _Fault(401, f"authentication failed: {exc}") from None
            try:
                check_content_type(environ.get("CONTENT_TYPE"), self.limits)
                raw = read_body(environ["wsgi.input"], environ.get("CONTENT_LENGTH"), self.limits)
                envelope = parse_envelope(raw, self.limits)
            except SoapFault as exc:
                raise _Fault(400, exc.message) from None
            body = envelope.find(f"{{{SOAP_ENV}}}Body")
            element = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
            if element is None:
                raise _Fault(400, "soap:Body holds no request")
            request_id = _request_id(element, types_ns(version, COMMON))
            op = self._operation(version, svc, element, environ.get("HTTP_SOAPACTION"))
            checker = schema(version, svc.schema)
            if not checker.validate(element):
                err = checker.error_log.last_error
                raise _Fault(400, f"the request does not match the schema: {err.message if err else '?'}")
            if op.name in WRITE_METHODS and claims.get("scope") != "tfoms":
                raise _Fault(403, f"this session has no right to {op.name}")
            faults = self.faults.current()
            if faults.in_outage():
                until = faults.outage_until.isoformat() if faults.outage_until else "?"
                return 503, [("Content-Type", "text/plain")], f"ФЕРЗЛ unavailable until {until}\n".encode()
            _misbehave(faults)
            ctx = Ctx(self.engine, version, svc.schema, faults, self.region_okato, self.region_code)
            if op.name in WRITE_METHODS:
                return self._once(ctx, op, element, request_id or "")
            return self._answer(ctx, op, element, request_id or "")
        except _Fault as fault:
            return (
                fault.http,
                [("Content-Type", "text/xml; charset=utf-8")],
                _fault_body(fault.text, request_id),
            )
        except Exception:
            log.exception("ФЕРЗЛ emulator: request failed")
            return 500, [("Content-Type", "text/xml; charset=utf-8")], _fault_body("system error", request_id)

    def _operation(self, version: str, svc: ServiceSpec, element: Any, action: str | None) -> Op:
        qname = etree.QName(element)
        expected = types_ns(version, svc.schema)
        if qname.namespace != expected:
            found = qname.namespace or ""
            raise _Fault(400, f"namespace {found} is not {expected} (API {version}, {svc.file})")
        op = next((o for o in svc.ops if o.request == qname.localname), None)
        if op is None:
            raise _Fault(400, f"{svc.file} has no request {qname.localname}")
        given = (action or "").strip().strip('"')
        if given and given != op.soap_action:
            raise _Fault(400, f"SOAPAction {given} is not {op.soap_action}")
        return op

    def _answer(
        self, ctx: Ctx, op: Op, element: Any, request_id: str, *, refuse: bool = True
    ) -> tuple[int, list[Any], bytes]:
        """The method's answer; a refusal (:class:`MpiError`) is answered too, or with ``refuse=False``
        propagates (a write rolls its change back first)."""
        handler = self.methods.get(op.name)
        if handler is None:
            raise _Fault(500, f"{op.name} is not emulated")
        try:
            answer = handler(ctx, element)
        except MpiError as refusal:
            if not refuse:
                raise
            answer = Answer(errors=[refusal])
        return self._render(ctx, op, request_id, answer)

    def _render(self, ctx: Ctx, op: Op, request_id: str, answer: Answer) -> tuple[int, list[Any], bytes]:
        response = etree.Element(f"{{{ctx.ns()}}}{op.response}", nsmap={"ns4": ctx.ns(), "ns3": ctx.com})
        etree.SubElement(response, f"{{{ctx.com}}}externalRequestId").text = request_id
        if answer.errors:
            errors = etree.SubElement(response, f"{{{ctx.com}}}errors")
            for err in answer.errors:
                item = etree.SubElement(errors, f"{{{ctx.com}}}errorItem")
                etree.SubElement(item, f"{{{ctx.com}}}code").text = err.code
                etree.SubElement(item, f"{{{ctx.com}}}message").text = err.message
                if err.tag is not None:
                    etree.SubElement(item, f"{{{ctx.com}}}tag").text = err.tag
                if err.value is not None:
                    etree.SubElement(item, f"{{{ctx.com}}}value").text = err.value
        for c in answer.children:
            response.append(c)
        status = max((e.http for e in answer.errors), default=200)
        if answer.content is None:
            return status, [("Content-Type", "text/xml; charset=utf-8")], _envelope(response)
        content = etree.SubElement(response, f"{{{ctx.ns()}}}content")
        cid = f"{uuid.uuid4()}@ferzl"
        etree.SubElement(content, f"{{{XOP_NS}}}Include", nsmap={"xop": XOP_NS}).set("href", f"cid:{cid}")
        return _mtom(_envelope(response), cid, answer.content)

    def _once(self, ctx: Ctx, op: Op, element: Any, request_id: str) -> tuple[int, list[Any], bytes]:
        """A write: answered once per externalRequestId; a repeat (even concurrent) gets the first answer.

        The change and its stored answer commit in one transaction, so no answer is given for a change
        that is not kept, nor a change kept without its answer. A refusal rolls the change back and is
        stored in a transaction of its own, holding the request id's lock again."""
        try:
            with self.engine.begin() as conn:
                stored = self._claim(conn, op, request_id)
                if stored is not None:
                    return stored
                answered = self._answer(replace(ctx, conn=conn), op, element, request_id, refuse=False)
                self._store(conn, op, request_id, answered)
                return answered
        except MpiError as refusal:
            with self.engine.begin() as conn:
                stored = self._claim(conn, op, request_id)
                if stored is not None:  # a repeat answered it meanwhile
                    return stored
                answered = self._render(ctx, op, request_id, Answer(errors=[refusal]))
                self._store(conn, op, request_id, answered)
                return answered

    def _claim(self, conn: Connection, op: Op, request_id: str) -> tuple[int, list[Any], bytes] | None:
        """Hold the request id (until the transaction ends); its stored answer, if it was answered."""
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (request_id,))
        stored = conn.execute(
            select(fed_answer.c.http_status, fed_answer.c.answer, fed_answer.c.method).where(
                fed_answer.c.external_request_id == request_id
            )
        ).first()
        if stored is None:
            return None
        if stored.method != op.name:
            raise _Fault(400, f"externalRequestId {request_id} was used for {stored.method}")
        return stored.http_status, [("Content-Type", "text/xml; charset=utf-8")], stored.answer.encode()

    def _store(
        self, conn: Connection, op: Op, request_id: str, answered: tuple[int, list[Any], bytes]
    ) -> None:
        status, _headers, body = answered
        if status < 500:
            conn.execute(
                insert(fed_answer).values(
                    external_request_id=request_id, method=op.name, http_status=status, answer=body.decode()
                )
            )

    def _fault(
        self, start_response: StartResponse, status: int, text: str, request_id: str | None
    ) -> Iterable[bytes]:
        return _reply(start_response, status, _fault_body(text, request_id), "text/xml; charset=utf-8")


# -- helpers ---------------------------------------------------------------------------------------------


def _misbehave(faults: Faults) -> None:
    faults.wait_latency()
    if draw(faults.timeout_rate):
        time.sleep(faults.hang_seconds)
    if draw(faults.error_rate):
        raise _Fault(500, "the federal register failed to answer (simulated)")


def _request_id(element: Any, com: str) -> str | None:
    first = next((c for c in element if isinstance(c.tag, str)), None)
    if first is not None and first.tag == f"{{{com}}}externalRequestId":
        return (first.text or "").strip() or None
    return None


def _envelope(body_child: Any) -> bytes:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"SOAP-ENV": SOAP_ENV})
    etree.SubElement(env, f"{{{SOAP_ENV}}}Header")
    etree.SubElement(env, f"{{{SOAP_ENV}}}Body").append(body_child)
    return bytes(etree.tostring(env, xml_declaration=True, encoding="UTF-8"))


def _fault_body(text: str, request_id: str | None) -> bytes:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"SOAP-ENV": SOAP_ENV})
    fault = etree.SubElement(etree.SubElement(env, f"{{{SOAP_ENV}}}Body"), f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = "SOAP-ENV:Server"
    etree.SubElement(fault, "faultstring").text = text
    if request_id:
        etree.SubElement(etree.SubElement(fault, "detail"), "externalRequestId").text = request_id
    return bytes(etree.tostring(env, xml_declaration=True, encoding="UTF-8"))


def _mtom(root: bytes, cid: str, content: bytes) -> tuple[int, list[Any], bytes]:
    boundary = f"uuid:{uuid.uuid4()}"
    start = f"<root.{uuid.uuid4().hex}@ferzl>"
    parts = [
        f'--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type="text/xml"\r\n'
        f"Content-Transfer-Encoding: binary\r\nContent-ID: {start}\r\n\r\n".encode(),
        root,
        f"\r\n--{boundary}\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: binary\r\n"
        f"Content-ID: <{cid}>\r\n\r\n".encode(),
        content,
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    content_type = (
        f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; start="{start}";'
        ' start-info="text/xml"'
    )
    return 200, [("Content-Type", content_type)], b"".join(parts)


_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'Status')}"


def _reply(start_response: StartResponse, status: int, body: bytes, content_type: str) -> list[bytes]:
    start_response(_status_line(status), [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _json(start_response: StartResponse, status: int, data: Any) -> list[bytes]:
    return _reply(start_response, status, json.dumps(data).encode(), "application/json")


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def services() -> tuple[ServiceSpec, ...]:
    return SERVICES
