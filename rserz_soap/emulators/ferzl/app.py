"""The ФЕРЗЛ emulator as a WSGI application: the signed SOAP service, its contract, the control API.

Routes (all under ``/ferzl``):

* ``GET /ferzl?wsdl`` — the WSDL, its API version and address filled in; ``GET /ferzl?xsd=ferzl.xsd`` —
  the schema it imports;
* ``POST /ferzl`` — SOAP 1.1. A request passes the hardening front (content type, size, a safe parse),
  WS-Security (signature over Body and Timestamp, the signer's certificate issued by the CA of
  ``var/pki/ca``), the namespace of the configured API version, the schema, then the fault switches
  (outage, latency, timeout, error), then the operation; the answer is signed with ``var/pki/ferzl``.
  Refusals are SOAP Faults (HTTP 500) with ``tns:fault`` (code, text, externalRequestId) as detail:
  ``MPI-400`` bad request, ``MPI-401`` unsigned or untrusted, ``MPI-404`` / ``MPI-409`` unknown or
  unfinished batch, ``MPI-500`` the federal side failed;
* ``/ferzl/_control/…`` — JSON over HTTP, unsigned, for tests and the operators of a stand: ``faults``
  (GET/PUT), ``changes`` (POST: a change the federal register learnt itself), ``planted`` (GET: the
  ground truth of the seeded divergences), ``health`` (GET).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Engine, func, select

from rserz_soap.config import Settings
from rserz_soap.emulators.ferzl import store
from rserz_soap.emulators.ferzl.faults import Faults, FaultSwitch, draw
from rserz_soap.emulators.ferzl.mpi import MpiApp, Tokens, read_password
from rserz_soap.emulators.ferzl.seed import planted_list
from rserz_soap.emulators.ferzl.service import (
    NS_PREFIX,
    OPERATIONS,
    Context,
    FerzlFault,
    apply_federal_change,
    fail_interrupted_batches,
    namespace,
)
from rserz_soap.emulators.ferzl.store import fed_person
from rserz_soap.soap.faults import SOAP_ENV, SoapFault
from rserz_soap.soap.hardening import Limits, check_content_type, parse_envelope, read_body
from rserz_soap.xmlsig.keys import KeyPair, load_keypair
from rserz_soap.xmlsig.trust import TrustError, TrustStore
from rserz_soap.xmlsig.wsse import WsseError, sign_envelope, verify_envelope

__all__ = [
    "CONTRACT_DIR",
    "MOUNT",
    "FerzlApp",
    "build_ferzl_app",
    "build_legacy_app",
    "contract_text",
    "schema_for",
]

log = logging.getLogger(__name__)

CONTRACT_DIR: Final = Path(__file__).resolve().parent / "contract"
MOUNT: Final = "/ferzl"
CONTROL: Final = "/_control/"

StartResponse = Callable[..., Any]


def contract_text(name: str, api_version: str, address: str = "") -> str:
    """``ferzl.wsdl`` or ``ferzl.xsd`` with the version (and the address) filled in."""
    template = (CONTRACT_DIR / name).read_text(encoding="utf-8")
    return template.replace("@API_VERSION@", api_version).replace("@ADDRESS@", address)


@cache
def schema_for(api_version: str) -> Any:
    """The compiled schema of one API version (compiled once per process)."""
    return etree.XMLSchema(etree.fromstring(contract_text("ferzl.xsd", api_version).encode("utf-8")))


class FerzlApp:
    """One emulator instance: its store, keys, trust anchors, contract version and fault switches."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        keypair: KeyPair,
        trust: TrustStore,
        api_version: str,
        *,
        limits: Limits | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.keypair = keypair
        self.trust = trust
        self.api_version = api_version
        self.ns = namespace(api_version)
        self.schema = schema_for(api_version)
        self.faults = FaultSwitch(engine)
        self.limits = limits or Limits()

    # -- WSGI ---------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if not (path == MOUNT or path.startswith(MOUNT + "/")):
            return _reply(start_response, "404 Not Found", b"not found", "text/plain")
        rest = path[len(MOUNT) :]
        if rest.startswith(CONTROL):
            return self._control(rest[len(CONTROL) :], method, environ, start_response)
        if rest not in ("", "/"):
            return _reply(start_response, "404 Not Found", b"not found", "text/plain")
        if method == "GET":
            return self._contract(environ, start_response)
        if method != "POST":
            return _reply(start_response, "405 Method Not Allowed", b"use POST or GET ?wsdl", "text/plain")
        status, content_type, body = self.handle(environ)
        return _reply(start_response, status, body, content_type)

    def _contract(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        host = environ.get("HTTP_HOST") or f"127.0.0.1:{self.settings.emulators_port}"
        address = f"{environ.get('wsgi.url_scheme', 'http')}://{host}{MOUNT}"
        if query.lower() in ("wsdl", "wsdl="):
            text = contract_text("ferzl.wsdl", self.api_version, address)
        elif query == "xsd=ferzl.xsd":
            text = contract_text("ferzl.xsd", self.api_version, address)
        else:
            return _reply(start_response, "404 Not Found", b"use ?wsdl or ?xsd=ferzl.xsd", "text/plain")
        return _reply(start_response, "200 OK", text.encode("utf-8"), "text/xml; charset=utf-8")

    # -- SOAP ---------------------------------------------------------------------------------------------

    def handle(self, environ: dict[str, Any]) -> tuple[str, str, bytes]:
        """(HTTP status, content type, body) of one SOAP request."""
        request_id: str | None = None
        try:
            try:
                check_content_type(environ.get("CONTENT_TYPE"), self.limits)
                raw = read_body(environ["wsgi.input"], environ.get("CONTENT_LENGTH"), self.limits)
                envelope = parse_envelope(raw, self.limits)
            except SoapFault as exc:
                raise FerzlFault("MPI-400", exc.message) from None
            now = dt.datetime.now(dt.UTC)
            try:
                verified = verify_envelope(envelope, now=now)
                self.trust.validate(verified.certificate, at=now)
            except (WsseError, TrustError) as exc:
                raise FerzlFault(
                    "MPI-401", f"the request is not signed by a trusted participant: {exc}"
                ) from None
            element = next((c for c in verified.body if isinstance(c.tag, str)), None)
            if element is None:
                raise FerzlFault("MPI-400", "soap:Body holds no request")
            request_id = _request_id(element)
            qname = etree.QName(element)
            if qname.namespace != self.ns:
                served = f"this service serves API version {self.api_version} (namespace {self.ns})"
                if (qname.namespace or "").startswith(NS_PREFIX):
                    raise FerzlFault(
                        "MPI-400",
                        f"API version {qname.namespace[len(NS_PREFIX) :]} is not supported: {served}",
                    )
                raise FerzlFault("MPI-400", f"unknown namespace {qname.namespace}: {served}")
            operation = OPERATIONS.get(qname.localname)
            if operation is None:
                raise FerzlFault("MPI-400", f"unknown operation {qname.localname}")
            if not self.schema.validate(element):
                err = self.schema.error_log.last_error
                raise FerzlFault(
                    "MPI-400", f"the request does not match the schema: {err.message if err else '?'}"
                )
            faults = self.faults.current()
            if faults.in_outage():
                return "503 Service Unavailable", "text/plain; charset=utf-8", _outage_text(faults)
            self._misbehave(faults)
            answer = operation(Context(self.engine, self.ns, faults), element)
            return "200 OK", "text/xml; charset=utf-8", self._signed(_envelope(answer))
        except FerzlFault as fault:
            return "500 Internal Server Error", "text/xml; charset=utf-8", self._fault(fault, request_id)
        except Exception:
            log.exception("ФЕРЗЛ emulator: request failed")
            internal = FerzlFault("MPI-500", "internal error of the federal register", server=True)
            return "500 Internal Server Error", "text/xml; charset=utf-8", self._fault(internal, request_id)

    @staticmethod
    def _misbehave(faults: Faults) -> None:
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if draw(faults.timeout_rate):
            time.sleep(faults.hang_seconds)
        if draw(faults.error_rate):
            raise FerzlFault("MPI-500", "the federal register failed to answer (simulated)", server=True)

    def _signed(self, envelope: Any) -> bytes:
        sign_envelope(envelope, self.keypair)
        return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))

    def _fault(self, fault: FerzlFault, request_id: str | None) -> bytes:
        env = etree.Element(etree.QName(SOAP_ENV, "Envelope"), nsmap={"soap": SOAP_ENV})
        body = etree.SubElement(env, etree.QName(SOAP_ENV, "Body"))
        f = etree.SubElement(body, etree.QName(SOAP_ENV, "Fault"))
        etree.SubElement(f, "faultcode").text = "soap:Server" if fault.server else "soap:Client"
        etree.SubElement(f, "faultstring").text = f"{fault.code}: {fault.text}"
        detail = etree.SubElement(
            etree.SubElement(f, "detail"), f"{{{self.ns}}}fault", nsmap={"tns": self.ns}
        )
        etree.SubElement(detail, f"{{{self.ns}}}code").text = fault.code
        etree.SubElement(detail, f"{{{self.ns}}}text").text = fault.text
        if request_id:
            etree.SubElement(detail, f"{{{self.ns}}}externalRequestId").text = request_id
        return self._signed(env)

    # -- control API ----------------------------------------------------------------------------------------

    def _control(
        self, name: str, method: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        try:
            if name == "faults" and method == "GET":
                return _json(start_response, "200 OK", self.faults.read().to_json())
            if name == "faults" and method == "PUT":
                faults = Faults.from_json(_read_json(environ))
                self.faults.replace(faults)
                return _json(start_response, "200 OK", faults.to_json())
            if name == "changes" and method == "POST":
                return self._control_change(_read_json(environ), start_response)
            if name == "planted" and method == "GET":
                with self.engine.connect() as conn:
                    planted = [
                        {"index": m.index, "enp": m.enp, "kind": m.kind.value, "field": m.field}
                        | {"regional": m.regional, "federal": m.federal}
                        for m in planted_list(conn)
                    ]
                return _json(start_response, "200 OK", planted)
            if name == "health" and method == "GET":
                with self.engine.connect() as conn:
                    persons = conn.execute(select(func.count()).select_from(fed_person)).scalar_one()
                return _json(
                    start_response,
                    "200 OK",
                    {"status": "ok", "api_version": self.api_version, "persons": persons},
                )
        except ValueError as exc:
            return _json(start_response, "400 Bad Request", {"error": str(exc)})
        return _json(start_response, "404 Not Found", {"error": f"no control route {method} {name}"})

    def _control_change(self, body: Any, start_response: StartResponse) -> Iterable[bytes]:
        if not isinstance(body, dict) or not body.get("enp") or not isinstance(body.get("set", {}), dict):
            raise ValueError(
                'expected {"enp": ..., "change_date": "YYYY-MM-DD", "reason": ..., "set": {...}}'
            )
        day = dt.date.fromisoformat(str(body.get("change_date") or dt.date.today().isoformat()))
        change_id = apply_federal_change(
            self.engine, str(body["enp"]), day, str(body.get("reason") or "FEDERAL"), body.get("set", {})
        )
        if change_id is None:
            return _json(start_response, "404 Not Found", {"error": f"unknown ЕНП {body['enp']}"})
        return _json(start_response, "200 OK", {"change_id": change_id})


def build_legacy_app(settings: Settings, engine: Engine, *, api_version: str | None = None) -> FerzlApp:
    """The invented dialect (``urn:ferzl:mpi:types``) still serving reconciliation batches: keys from
    ``var/pki/ferzl``, trust anchors from ``var/pki/ca``; batches an earlier process left unfinished are
    marked FAILED."""
    pki = settings.pki_dir
    keypair = load_keypair(pki / "ferzl" / "key.pem", pki / "ferzl" / "cert.pem")
    trust = TrustStore.from_pki_dir(pki)
    fail_interrupted_batches(engine)
    return FerzlApp(settings, engine, keypair, trust, api_version or settings.ferzl_api_version)


def build_ferzl_app(
    settings: Settings,
    engine: Engine,
    *,
    api_version: str | None = None,
    versions: tuple[str, ...] | None = None,
    token_ttl: float = 3600.0,
) -> MpiApp:
    """The emulator: the document's services (``mpi.py``) for the served versions, the control API, and
    the legacy dialect behind them. The stand's credential is ``settings.ferzl_login`` with the password
    in ``settings.ferzl_password_file`` (made on first use)."""
    from rserz_soap.emulators.ferzl.mpi_methods import METHODS

    store.create_schema(engine)
    legacy = build_legacy_app(settings, engine, api_version=api_version)
    tokens = Tokens(settings.ferzl_login, read_password(settings.ferzl_password_path), token_ttl)
    mpi = MpiApp(
        engine,
        tokens,
        METHODS,
        versions=versions or settings.ferzl_versions,
        region_okato=settings.region_okato,
        region_code=settings.region_code,
        legacy=_StandControl(settings, engine, tokens, legacy),
        faults=legacy.faults,
    )
    return mpi


class _StandControl:
    """``POST /ferzl/_control/events`` (a §5 event the register learnt elsewhere: ``{"enp", "event", …}``,
    or a birth ``{"event": "1П", "person": {fam, im, ot, w, dr, docnum, smo}}``) and
    ``POST /ferzl/_control/token`` (``{"scope": "read", "ttl": 5}``: a token for the auth tests)."""

    def __init__(self, settings: Settings, engine: Engine, tokens: Tokens, legacy: FerzlApp) -> None:
        self.settings, self.engine, self.tokens, self.legacy = settings, engine, tokens, legacy

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        from rserz_soap.emulators.ferzl.mpi_methods import apply_event, birth, known_event

        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or path not in (
            f"{MOUNT}{CONTROL}events",
            f"{MOUNT}{CONTROL}token",
        ):
            return self.legacy(environ, start_response)
        try:
            body = _read_json(environ)
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
            if path.endswith("token"):
                token, ttl = self.tokens.make(str(body.get("scope", "tfoms")), body.get("ttl"))
                return _json(start_response, "200 OK", {"token": token, "expiresIn": ttl})
            code = str(body.get("event", ""))
            if code == "1П" and isinstance(body.get("person"), dict):
                enp = birth(
                    self.engine, self.settings.region_code, self.settings.region_okato, body["person"]
                )
                return _json(start_response, "200 OK", {"enp": enp})
            if not code:
                raise ValueError('expected {"enp": …, "event": …}')
            if not known_event(code):  # an event the document does not list: recorded as it is
                from rserz_soap.emulators.ferzl.mpi_methods import record_event

                with self.engine.begin() as conn:
                    event_id = record_event(conn, str(body["enp"]), self.settings.region_code, code)
                return _json(start_response, "200 OK", {"event_id": event_id})
            values = {k: v for k, v in body.items() if k not in ("enp", "event")}
            applied = apply_event(self.engine, str(body.get("enp")), code, values)
        except (ValueError, KeyError) as exc:
            return _json(start_response, "400 Bad Request", {"error": str(exc)})
        if applied is None:
            return _json(start_response, "404 Not Found", {"error": f"unknown ЕНП {body.get('enp')}"})
        return _json(start_response, "200 OK", {"event_id": applied})


# --------------------------------------------------------------------------- helpers


def _request_id(element: Any) -> str | None:
    for c in element:
        if isinstance(c.tag, str) and etree.QName(c).localname == "externalRequestId":
            return (c.text or "").strip() or None
    return None


def _envelope(body_child: Any) -> Any:
    env = etree.Element(etree.QName(SOAP_ENV, "Envelope"), nsmap={"soap": SOAP_ENV})
    etree.SubElement(env, etree.QName(SOAP_ENV, "Body")).append(body_child)
    return env


def _outage_text(faults: Faults) -> bytes:
    until = faults.outage_until.isoformat() if faults.outage_until else "?"
    return f"ФЕРЗЛ is unavailable until {until} (simulated outage)\n".encode()


def _reply(start_response: StartResponse, status: str, body: bytes, content_type: str) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _json(start_response: StartResponse, status: str, data: Any) -> list[bytes]:
    body = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
    return _reply(start_response, status, body, "application/json; charset=utf-8")


def _read_json(environ: dict[str, Any]) -> Any:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ValueError("invalid Content-Length") from None
    if length > 1024 * 1024:
        raise ValueError("the body is larger than 1 MB")
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        return json.loads(raw or b"{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"the body is not JSON: {exc}") from None
