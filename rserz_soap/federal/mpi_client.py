"""The hub's client of ФЕРЗЛ as ФОМС's description v5.07 describes it: a token, SOAP, MTOM — failing closed.

* **Version.** The client speaks one API version (``RSERZ_FERZL_API_VERSION``, default 24.2.6): it is in
  the URL path (``<stand>/api/t-foms/integration/ws/<version>/wsdl/<service>``) and in every namespace it
  writes and expects (``http://ffoms.ru/types/<version>/<schema>``). Answers are read by namespace URI,
  never by prefix (ФЕРЗЛ declares every deployed version with generated prefixes).
* **Authentication** (§1.3.1): a token in HTTP header ``X-Auth-Token``. How a token is issued is not in
  the document: we ask ``<stand>/auth/token`` with the configured login and password (the emulator's
  endpoint; docs/federal.md). The token is kept in memory only, never logged (:class:`_Token`'s ``repr``
  hides it), renewed a minute before it expires and once more when ФЕРЗЛ answers 401.
* **TLS.** With an ``https`` address the certificate is verified — against ``RSERZ_FERZL_CA_FILE`` when
  set, else the system's store; a plain ``http`` address is refused unless it is the loopback (the
  bundled emulator).
* **Fails closed.** Every answer must be the expected element of the expected namespace, and its
  ``externalRequestId`` must be the one sent; anything else — a body that does not parse, a foreign
  element, another request's id, a multipart without the referenced part — is treated as no answer
  (:class:`FederalUnavailable`), never as data. HTTP statuses as §1.1 Таблица 1: 409 with the method's
  ``errors`` is a business refusal (:class:`FederalAnswer` with ``accepted=False``); 400 and 403 are
  :class:`FederalError` (sending it again will not help); 401 after a renewed token, 5xx, timeouts and
  network failures are :class:`FederalUnavailable`.
* Circuit breaker: pybreaker with its state in Redis (shared by every hub process), opened by
  unavailabilities only; every call is a row of the exchange journal (no bodies).
* Retries belong to the job layer (RQ ``Retry`` with explicit intervals), never to this client.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pybreaker
import requests
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.config import Settings
from rserz_soap.db import exchange
from rserz_soap.db.exchange import ExchangeRecord
from rserz_soap.db.uow import Database
from rserz_soap.domain.federal import (
    ChangeEvent,
    FederalAnswer,
    FederalPerson,
    FederalPolicy,
    FormedPolicy,
    MilitaryService,
    NewbornRecord,
    NilRecord,
    PolicyApplication,
    Representation,
    VitrinaRow,
)
from rserz_soap.domain.person import Address, Attachment, Document
from rserz_soap.federal.contract import COMMON, operation, types_ns
from rserz_soap.files.xmlfile import hardened_parser
from rserz_soap.usecases.federal_port import FederalError, FederalUnavailable
from rserz_soap.xmlsig.gost.sign import GostPrivateKey

__all__ = ["MpiClient", "Reply"]

log = logging.getLogger(__name__)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XOP_NS = "http://www.w3.org/2004/08/xop/include"
#: renew a token this many seconds before it expires
RENEW_MARGIN = 60.0
TOKEN_PATH = "/auth/token"  # noqa: S105 - a URL path, not a secret
POLL_SECONDS = 0.2
POLL_MAX_SECONDS = 600.0


class _Transient(Exception):
    """Inside the breaker: a failure that counts towards opening it."""


@dataclasses.dataclass
class _Token:
    value: str
    expires: float

    def __repr__(self) -> str:  # never in a log line
        return f"_Token(expires={self.expires:.0f})"


@dataclasses.dataclass(frozen=True)
class Reply:
    """The verified answer: its element, HTTP status, and the ``content`` attachment if any."""

    element: Any
    status: int
    content: bytes | None = None

    def errors(self, com: str) -> tuple[tuple[str, str], ...]:
        found = self.element.find(f"{{{com}}}errors")
        if found is None:
            return ()
        return tuple(
            (i.findtext(f"{{{com}}}code") or "?", i.findtext(f"{{{com}}}message") or "")
            for i in found.findall(f"{{{com}}}errorItem")
        )


class MpiClient:
    def __init__(
        self,
        base_url: str,
        version: str,
        login: str,
        password: Callable[[], str],
        *,
        timeout: float = 30.0,
        ca_file: str | None = None,
        breaker: pybreaker.CircuitBreaker | None = None,
        session: requests.Session | None = None,
        journal: Callable[[ExchangeRecord], None] | None = None,
        poll_seconds: float = POLL_SECONDS,
        poll_max_seconds: float = POLL_MAX_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https"):
            raise ValueError(f"ФЕРЗЛ address must be http(s): {base_url}")
        if parsed.scheme == "http" and parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"ФЕРЗЛ over plain http is allowed only on the loopback: {base_url}")
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.login = login
        self._password = password
        self.timeout = timeout
        self.verify: bool | str = ca_file if ca_file else True
        self.breaker = breaker or make_breaker(None)
        self._session = session or requests.Session()
        self._journal = journal
        self._token: _Token | None = None
        self._lock = threading.Lock()
        self._owner = threading.get_ident()
        self._local = threading.local()
        self.poll_seconds, self.poll_max_seconds, self.sleep = poll_seconds, poll_max_seconds, sleep
        self.com = types_ns(version, COMMON)

    @classmethod
    def from_settings(
        cls, settings: Settings, redis: Any | None = None, db: Database | None = None
    ) -> MpiClient:
        path = settings.ferzl_password_path

        def password() -> str:
            return Path(path).read_text(encoding="utf-8").strip()

        return cls(
            settings.ferzl_endpoint,
            settings.ferzl_api_version,
            settings.ferzl_login,
            password,
            timeout=settings.ferzl_timeout,
            ca_file=settings.ferzl_ca_file,
            breaker=make_breaker(
                redis, reset_timeout=settings.ferzl_breaker_reset, name=settings.ferzl_endpoint
            ),
            journal=_journal_into(db) if db is not None else None,
        )

    # -- plumbing ------------------------------------------------------------------------------------------

    def ns(self, method: str) -> str:
        svc, _op = operation(method)
        return types_ns(self.version, svc.schema)

    def request(self, method: str) -> tuple[Any, str]:
        """A request element for ``method`` with a new externalRequestId (the caller may replace it)."""
        _svc, op = operation(method)
        el = etree.Element(
            f"{{{self.ns(method)}}}{op.request}", nsmap={"tns": self.ns(method), "com": self.com}
        )
        rid = str(uuid.uuid4())
        etree.SubElement(el, f"{{{self.com}}}externalRequestId").text = rid
        return el, rid

    def call(self, method: str, element: Any) -> Reply:
        """Send ``element`` (its first child is the externalRequestId); the verified answer."""
        rid = element[0].text or ""
        started = time.perf_counter()
        outcome, code = "error", "UNAVAILABLE"
        try:
            reply: Reply = self._thread_breaker().call(self._exchange, method, element, rid)
            outcome, code = ("ok", None) if reply.status == 200 else ("fault", str(reply.status))  # type: ignore[assignment]
            return reply
        except pybreaker.CircuitBreakerError as exc:
            code = "CIRCUIT_OPEN"
            raise FederalUnavailable(f"ФЕРЗЛ circuit open: {exc}") from None
        except _Transient as exc:
            raise FederalUnavailable(str(exc)) from None
        except FederalError as exc:
            outcome, code = "fault", exc.code
            raise
        finally:
            if self._journal is not None:
                self._journal(
                    ExchangeRecord(
                        uuid.uuid4(), "out", "ferzl", method, outcome, peer="ferzl",
                        request_id=_uuid_or_none(rid), error_code=code,
                        duration_ms=int((time.perf_counter() - started) * 1000),
                    )
                )  # fmt: skip

    def _thread_breaker(self) -> pybreaker.CircuitBreaker:
        """The breaker for this thread's calls. pybreaker holds a lock for the whole of a call, which would
        make the calls of a parallel sender (``usecases/outbox.py``) one at a time; each other thread gets a
        breaker of its own over the *same* state storage (Redis, or the owner's memory), so every thread
        still sees one circuit: failures counted together, opened for all."""
        if threading.get_ident() == self._owner:
            return self.breaker
        mine: pybreaker.CircuitBreaker | None = getattr(self._local, "breaker", None)
        if mine is None or getattr(self._local, "of", None) is not self.breaker:
            b = self.breaker
            mine = pybreaker.CircuitBreaker(
                fail_max=b.fail_max,
                reset_timeout=b.reset_timeout,
                success_threshold=b.success_threshold,
                exclude=b._excluded_exceptions,
                state_storage=b._state_storage,  # shared on purpose (the docstring)
                name=b.name,
            )
            self._local.breaker, self._local.of = mine, b
        return mine

    def _exchange(self, method: str, element: Any, rid: str) -> Reply:
        svc, op = operation(method)
        url = f"{self.base_url}{svc.path(self.version)}"
        env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV})
        etree.SubElement(env, f"{{{SOAP_ENV}}}Header")
        etree.SubElement(env, f"{{{SOAP_ENV}}}Body").append(element)
        body = etree.tostring(env, xml_declaration=True, encoding="UTF-8")
        for attempt in (1, 2):
            headers = {
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": f'"{op.soap_action}"',
                "X-Auth-Token": self._current_token(renew=attempt == 2),
            }
            try:
                response = self._session.post(
                    url, data=body, headers=headers, timeout=self.timeout, verify=self.verify
                )
            except requests.exceptions.SSLError as exc:
                raise _Transient(f"ФЕРЗЛ TLS refused: {type(exc).__name__}") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise _Transient(f"ФЕРЗЛ unreachable: {type(exc).__name__}") from None
            if response.status_code == 401 and attempt == 1:
                continue  # the token expired or was revoked: one more try with a new one
            return self._read(method, op.response, rid, response)
        raise _Transient(f"ФЕРЗЛ {method}: HTTP 401 with a fresh token")

    def _read(self, method: str, expected: str, rid: str, response: requests.Response) -> Reply:
        status = response.status_code
        if status == 401:
            raise _Transient(f"ФЕРЗЛ {method}: HTTP 401")
        if status >= 500:
            raise _Transient(f"ФЕРЗЛ {method}: HTTP {status}")
        if status in (400, 403):
            raise FederalError(str(status), f"ФЕРЗЛ {method}: {_faultstring(response.content)}")
        if status not in (200, 409):
            raise _Transient(f"ФЕРЗЛ {method}: unexpected HTTP {status}")
        root_bytes, parts = _split(response.headers.get("Content-Type", ""), response.content)
        try:
            envelope = etree.fromstring(root_bytes, parser=hardened_parser())
        except etree.XMLSyntaxError:
            raise _Transient(f"ФЕРЗЛ {method}: an answer that does not parse") from None
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        first = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
        if first is None or first.tag != f"{{{self.ns(method)}}}{expected}":
            raise _Transient(f"ФЕРЗЛ {method}: not a {expected} of API {self.version}")
        echoed = first[0] if len(first) else None
        if (
            echoed is None
            or echoed.tag != f"{{{self.com}}}externalRequestId"
            or (echoed.text or "").strip() != rid
        ):
            raise _Transient(f"ФЕРЗЛ {method}: the answer is not to request {rid}")
        content: bytes | None = None
        include = first.find(f".//{{{XOP_NS}}}Include")
        if include is not None:
            cid = (include.get("href") or "").removeprefix("cid:")
            if cid not in parts:
                raise _Transient(f"ФЕРЗЛ {method}: the attachment {cid} is missing")
            content = parts[cid]
        else:
            inline = first.find(f"{{{self.ns(method)}}}content")
            if inline is not None and inline.text:
                content = base64.b64decode(inline.text)
        if status == 409 and first.find(f"{{{self.com}}}errors") is None:
            raise _Transient(f"ФЕРЗЛ {method}: HTTP 409 without errors")
        return Reply(first, status, content)

    def _current_token(self, *, renew: bool) -> str:
        with self._lock:
            now = time.time()
            if renew or self._token is None or self._token.expires - RENEW_MARGIN <= now:
                self._token = self._new_token()
            return self._token.value

    def _new_token(self) -> _Token:
        try:
            password = self._password()
        except OSError as exc:  # the credential is not there (yet): no call can be made, try later
            raise _Transient(f"ФЕРЗЛ token: no password ({type(exc).__name__})") from None
        try:
            response = self._session.post(
                f"{self.base_url}{TOKEN_PATH}",
                json={"login": self.login, "password": password},
                timeout=self.timeout,
                verify=self.verify,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(f"ФЕРЗЛ token: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise _Transient(f"ФЕРЗЛ token: HTTP {response.status_code}")
        data = response.json()
        return _Token(str(data["token"]), time.time() + float(data.get("expiresIn", 300)))

    # -- asynchronous pairs (§1.2) ----------------------------------------------------------------------

    def start(self, method: str, fill: Callable[[Any], None], *, request_id: str | None = None) -> str:
        """``<method>Start``: the opToken (a refusal is a FederalError with the federal code)."""
        el, _rid = self.request(f"{method}Start")
        if request_id:
            el[0].text = request_id
        fill(el)
        reply = self.call(f"{method}Start", el)
        errors = reply.errors(self.com)
        if errors:
            raise FederalError(errors[0][0], errors[0][1])
        token = reply.element.findtext(f"{{{self.com}}}opToken")
        if not token:
            raise _Transient_to_unavailable(f"ФЕРЗЛ {method}Start: no opToken")
        return str(token)

    def poll(self, method: str, token: str) -> Reply | None:
        """``<method>Poll`` once: the reply when COMPLETED, None while the operation runs."""
        el, _rid = self.request(f"{method}Poll")
        etree.SubElement(el, f"{{{self.com}}}opToken").text = token
        reply = self.call(f"{method}Poll", el)
        errors = reply.errors(self.com)
        if errors:
            raise FederalError(errors[0][0], errors[0][1])
        state = reply.element.findtext(f"{{{self.com}}}processingStatus")
        return reply if state == "COMPLETED" else None

    def wait(self, method: str, token: str) -> Reply:
        waited, delay = 0.0, self.poll_seconds
        while True:
            reply = self.poll(method, token)
            if reply is not None:
                return reply
            if waited > self.poll_max_seconds:
                raise FederalUnavailable(f"ФЕРЗЛ {method}: not completed after {waited:.0f} s")
            self.sleep(delay)
            waited += delay
            delay = min(delay * 1.5, 5.0)

    # -- the methods the register uses ------------------------------------------------------------------

    def submit_application(self, request_id: str, app: PolicyApplication) -> FederalAnswer:
        """§3.3.1: the same ``request_id`` on every attempt; a repeat gets ФЕРЗЛ's first answer."""
        el, _ = self.request("submitPolicyApplication")
        el[0].text = request_id
        _application(el, self.ns("submitPolicyApplication"), self.com, app)
        reply = self.call("submitPolicyApplication", el)
        return self._answer(reply, self.ns("submitPolicyApplication"))

    def submit_application_signed(
        self, request_id: str, app: PolicyApplication, key: GostPrivateKey, certificate_der: bytes
    ) -> FederalAnswer:
        """§3.3.2 submitPolicyApplicationWithSign: ``data`` = the application as an XML document (root
        ``submitPolicyApplication``), ``sign`` = a detached signature over exactly those bytes,
        ``certificate`` = the signer's certificate (DER). The document does not name the algorithm or the
        container: our reading is GOST R 34.10-2012 with Streebog, the raw ``s ‖ r`` over the bytes
        (``xmlsig/gost``) — a CMS (PKCS#7) detached container is the other usual reading (docs/federal.md)."""
        ns = self.ns("submitPolicyApplicationWithSign")
        inner = etree.Element(f"{{{ns}}}submitPolicyApplication", nsmap={"tns": ns, "com": self.com})
        _application(inner, ns, self.com, app)
        data = etree.tostring(inner, xml_declaration=True, encoding="UTF-8")
        el, _ = self.request("submitPolicyApplicationWithSign")
        el[0].text = request_id
        _s(el, ns, "sign", base64.b64encode(key.sign(data)).decode("ascii"))
        _s(el, ns, "certificate", base64.b64encode(certificate_der).decode("ascii"))
        _s(el, ns, "data", base64.b64encode(data).decode("ascii"))
        return self._answer(self.call("submitPolicyApplicationWithSign", el), ns)

    def _answer(self, reply: Reply, ns: str) -> FederalAnswer:
        errors = reply.errors(self.com)
        if errors:
            return FederalAnswer(False, errors=errors)
        pcy = reply.element.find(f"{{{ns}}}submitApplicationResponseType/{{{ns}}}createdPcy")
        formed = None
        if pcy is not None:
            formed = FormedPolicy(
                enp=_t(pcy, ns, "enp") or "",
                pcy_type=_t(pcy, ns, "pcyType") or "",
                dbeg=_d(_t(pcy, ns, "pcyDateB")) or date.min,
                dend=_d(_t(pcy, ns, "pcyDateE")),
                status=_t(pcy, ns, "pcyStatus") or "",
                okato=_t(pcy, ns, "okato") or "",
                smo=_t(pcy, ns, "insurfCode") or "",
                ser=_t(pcy, ns, "pcySer"),
                num=_t(pcy, ns, "pcyNum"),
            )
        return FederalAnswer(True, formed)

    def register_dudl(self, request_id: str, enp: str, doc: Document, person: Any) -> FederalAnswer:
        """§3.6.2: add a document to the person the ЕНП finds."""
        el = self._object_request("registerDudl", request_id, enp)
        ns = self.ns("registerDudl")
        add = etree.SubElement(el, f"{{{ns}}}dudlToAdd")  # the schema's own order, all in its namespace
        if doc.docser:
            _s(add, ns, "dudlSer", doc.docser)
        _s(add, ns, "dudlNum", doc.docnum)
        _s(add, ns, "dudlDateB", doc.docdate or person.dr)
        if doc.docexp:
            _s(add, ns, "dudlDateE", doc.docexp)
        _s(add, ns, "dudlType", doc.doctype)
        if doc.name_vp:
            _s(add, ns, "issuer", doc.name_vp[:255])
        _s(add, ns, "noCitizenship", False)
        _s(add, ns, "surname", person.fam)
        if person.ot:
            _s(add, ns, "patronymic", person.ot)
        _s(add, ns, "firstName", person.im)
        _s(add, ns, "birthDay", person.dr)
        _s(add, ns, "gender", person.w)
        return self._object_answer("registerDudl", el)

    def register_snils(self, request_id: str, enp: str, snils: str) -> FederalAnswer:
        el = self._object_request("registerSnils", request_id, enp)
        _s(el, self.ns("registerSnils"), "snils", snils)
        return self._object_answer("registerSnils", el)

    def register_address(self, request_id: str, enp: str, address: Address, okato: str) -> FederalAnswer:
        el = self._object_request("registerAddress", request_id, enp)
        ns = self.ns("registerAddress")
        addr = etree.SubElement(el, f"{{{ns}}}addr")
        _s(addr, ns, "okato", (address.okato or okato)[:11])
        _s(addr, ns, "oksm", "RUS")
        _s(addr, ns, "aoguid", address.fias_guid or "00000000-0000-0000-0000-000000000000")
        _s(addr, ns, "addressType", 1 if address.kind == "G" else 2)
        _s(addr, ns, "validFrom", address.registered_on or date.today())
        return self._object_answer("registerAddress", el)

    def _object_request(self, method: str, request_id: str, enp: str) -> Any:
        el, _ = self.request(method)
        el[0].text = request_id
        pcy = etree.SubElement(el, f"{{{self.ns(method)}}}pcy")
        _s(pcy, self.com, "enp", enp)
        return el

    def _object_answer(self, method: str, el: Any) -> FederalAnswer:
        reply = self.call(method, el)
        errors = reply.errors(self.com)
        if errors:
            return FederalAnswer(False, errors=errors)
        return FederalAnswer(True, oip=reply.element.findtext(f"{{{self.ns(method)}}}oip"))

    def register_attach(
        self,
        request_id: str,
        enp: str,
        attachment: Attachment,
        *,
        area_type: int,
        method: int,
        mo_oid: str,
        dep_oid: str | None,
    ) -> FederalAnswer:
        """§3.4.1: open (or close, with ``date_out``) an attachment; ФРМО OIDs of the МО and subdivision."""
        el, _ = self.request("registerAttach")
        el[0].text = request_id
        ns = self.ns("registerAttach")
        _s(el, ns, "checkFlk", False)
        att = etree.SubElement(el, f"{{{ns}}}att")
        _s(att, ns, "enp", enp)
        _s(att, ns, "dateAttachB", attachment.date_in)
        if attachment.date_out:
            _s(att, ns, "dateAttachE", attachment.date_out)
        _s(att, ns, "attachMethod", method)
        _s(att, ns, "areaType", area_type)
        _s(att, ns, "moId", mo_oid)
        _s(att, ns, "moCode", attachment.mo_code)
        if attachment.doctor_snils:
            _s(att, ns, "snilsDoctor", attachment.doctor_snils)
        if dep_oid:
            _s(att, ns, "moDepId", dep_oid)
        reply = self.call("registerAttach", el)
        errors = reply.errors(self.com)
        status = reply.element.findtext(f"{{{ns}}}currAttach/{{{ns}}}attachStatus")
        return FederalAnswer(not errors, errors=errors, oip=status)

    def person(
        self,
        *,
        oip: str | None = None,
        enp: str | None = None,
        policy: tuple[str | None, str] | None = None,
        document: tuple[int, str | None, str] | None = None,
        snils: tuple[str, date | None] | None = None,
        on: date | None = None,
    ) -> FederalPerson | None:
        """§3.1.2 getPersonData by ОИП, ЕНП, a policy (series, number), a document (type, series,
        number) or СНИЛС with the birth date — current or historical values (the groups are AND-ed)."""
        el, _ = self.request("getPersonData")
        ns = self.ns("getPersonData")
        params = etree.SubElement(el, f"{{{ns}}}personDataSearchParams")
        psi = etree.SubElement(params, f"{{{ns}}}personSearchInfo")
        if oip:
            _s(psi, ns, "oip", oip)
        if enp or policy:
            pcy = etree.SubElement(psi, f"{{{ns}}}pcy")
            if enp:
                _s(pcy, self.com, "enp", enp)
            if policy is not None:
                if policy[0]:
                    _s(pcy, self.com, "pcySer", policy[0])
                _s(pcy, self.com, "pcyNum", policy[1])
        if document is not None:
            dudl = etree.SubElement(psi, f"{{{ns}}}dudl")
            if document[1]:
                _s(dudl, self.com, "dudlSer", document[1])
            _s(dudl, self.com, "dudlNum", document[2])
            _s(dudl, self.com, "dudlType", document[0])
        if snils is not None:
            sd = etree.SubElement(psi, f"{{{ns}}}snilsDr")
            _s(sd, ns, "snils", snils[0])
            if snils[1]:
                _s(sd, ns, "birthDay", snils[1])
        if on:
            _s(params, ns, "dt", on)
        reply = self.call("getPersonData", el)
        pd = reply.element.find(f"{{{ns}}}pd")
        return _person(pd, ns, self.com) if pd is not None else None

    def find_persons(
        self, fam: str, im: str | None, ot: str | None, dr: date | None, *, page: int = 1, size: int = 20
    ) -> tuple[int, list[tuple[str, str | None, str]]]:
        """§3.1.4 findPersonsByPersCriteria: (count, [(fio, ЕНП, ОИП)]) of one page."""
        el, _ = self.request("findPersonsByPersCriteria")
        ns = self.ns("findPersonsByPersCriteria")
        crit = etree.SubElement(el, f"{{{ns}}}persCriteria")
        pagination = etree.SubElement(crit, f"{{{ns}}}pagination")
        _s(pagination, self.com, "pageNumber", page)
        _s(pagination, self.com, "itemPerPage", size)
        fio = etree.SubElement(crit, f"{{{ns}}}fio")
        _s(fio, ns, "surname", fam)
        if im:
            _s(fio, ns, "firstName", im)
        if ot:
            _s(fio, ns, "patronymic", ot)
        if dr:
            _s(crit, ns, "birthDayFrom", dr)
            _s(crit, ns, "birthDayTo", dr)
        reply = self.call("findPersonsByPersCriteria", el)
        persons = reply.element.find(f"{{{ns}}}persons")
        if persons is None:
            return 0, []
        count = int(persons.findtext(f"{{{ns}}}pagination/{{{self.com}}}count") or 0)
        items = [
            (i.findtext(f"{{{ns}}}fio") or "", i.findtext(f"{{{ns}}}enp"), i.findtext(f"{{{ns}}}oip") or "")
            for i in persons.findall(f"{{{ns}}}personDataShortItem")
        ]
        return count, items

    def events(
        self, terr: str, dfrom: date, dto: date, *, token: str | None = None
    ) -> tuple[str, list[ChangeEvent] | None]:
        """§3.2.11–12 getChangesEvent: (opToken, events — None while the operation runs)."""
        ns = self.ns("getChangesEventStart")
        if token is None:

            def fill(el: Any) -> None:
                _s(el, ns, "dtFrom", dfrom)
                _s(el, ns, "dtTo", dto)
                _s(el, ns, "terr", terr)

            token = self.start("getChangesEvent", fill)
        reply = self.poll("getChangesEvent", token)
        if reply is None:
            return token, None
        return token, [_event(x, self.com) for x in reply.element.findall(f"{{{ns}}}enpChangedEvent")]

    def status_changes(
        self, terr: str, dfrom: date, dto: date, *, token: str | None = None
    ) -> tuple[str, list[ChangeEvent] | None]:
        """§3.2.3–4 getInsuranceStatusChanges: arrivals, departures and changes in one list."""
        ns = self.ns("getInsuranceStatusChangesStart")
        if token is None:

            def fill(el: Any) -> None:
                _s(el, ns, "dtFrom", dfrom)
                _s(el, ns, "dtTo", dto)
                _s(el, ns, "terr", terr)

            token = self.start("getInsuranceStatusChanges", fill)
        reply = self.poll("getInsuranceStatusChanges", token)
        if reply is None:
            return token, None
        out: list[ChangeEvent] = []
        for group in ("enpArrived", "enpDeparted", "enpChanged"):
            for x in reply.element.findall(f"{{{ns}}}{group}/{{{ns}}}enpChangedEvent"):
                out.append(_event(x, self.com))
        return token, out

    def suspend(self, request_id: str, persons: Sequence[MilitaryService]) -> str:
        """§3.5.1 suspendOmsPolicyStart: the opToken (poll it with :meth:`suspended`)."""
        ns = self.ns("suspendOmsPolicyStart")

        def fill(el: Any) -> None:
            lst = etree.SubElement(el, f"{{{ns}}}persons")
            for p in persons:
                item = etree.SubElement(lst, f"{{{ns}}}person")
                if p.oip:
                    _s(item, ns, "oip", p.oip)
                _s(item, ns, "localPersonIndex", p.index)
                info = etree.SubElement(item, f"{{{ns}}}personInfo")
                _s(info, ns, "surname", p.fam)
                _s(info, ns, "firstName", p.im)
                if p.ot:
                    _s(info, ns, "patronymic", p.ot)
                _s(info, ns, "birthDay", p.dr)
                dudl = etree.SubElement(item, f"{{{ns}}}dudl")
                if p.document.docser:
                    _s(dudl, self.com, "dudlSer", p.document.docser)
                _s(dudl, self.com, "dudlNum", p.document.docnum)
                _s(dudl, self.com, "dudlType", p.document.doctype)
                if p.snils:
                    _s(item, ns, "snils", p.snils)
                svc = etree.SubElement(item, f"{{{ns}}}milSvc")
                _s(svc, ns, "startDate", p.start)
                _s(svc, ns, "endDate", p.end)
                _s(svc, ns, "termInMonths", p.months)

        return self.start("suspendOmsPolicy", fill, request_id=request_id)

    def suspended(self, token: str) -> dict[str, tuple[str | None, tuple[tuple[str, str], ...]]] | None:
        """§3.5.2 suspendOmsPolicyPoll: localPersonIndex → (ОИП, errors); None while it runs."""
        reply = self.poll("suspendOmsPolicy", token)
        if reply is None:
            return None
        ns = self.ns("suspendOmsPolicyPoll")
        out = {}
        for r in reply.element.findall(f"{{{ns}}}milPersonResult"):
            errs = tuple(
                (i.findtext(f"{{{self.com}}}code") or "?", i.findtext(f"{{{self.com}}}message") or "")
                for i in r.findall(f"{{{ns}}}errors/{{{self.com}}}errorItem")
            )
            out[r.findtext(f"{{{ns}}}localPersonIndex") or ""] = (r.findtext(f"{{{ns}}}oip"), errs)
        return out

    def view_insurance_start(self, terr: str, *, smo: str | None = None) -> str:
        """§3.2.5 getViewDataInsuranceStart for the current data (no ``dt``): the opToken."""
        ns = self.ns("getViewDataInsuranceStart")

        def fill(el: Any) -> None:
            _s(el, ns, "terr", terr)
            if smo:
                _s(el, ns, "smo", smo)

        return self.start("getViewDataInsurance", fill)

    def view_insurance_poll(self, token: str) -> list[VitrinaRow] | None:
        """§3.2.6: the витрина's rows once COMPLETED (its ZIP read here), None while it is being built."""
        reply = self.poll("getViewDataInsurance", token)
        if reply is None:
            return None
        if reply.content is None:
            raise FederalUnavailable("ФЕРЗЛ getViewDataInsurancePoll: COMPLETED without content")
        try:
            return insurance_vitrina(reply.content)
        except (ValueError, IndexError, zipfile.BadZipFile) as exc:  # not data we can trust: an outage
            raise FederalUnavailable(
                f"ФЕРЗЛ getViewDataInsurancePoll: an unreadable витрина ({exc})"
            ) from None

    def nils(
        self, *, mo_code: str | None = None, page: int = 1, size: int = 20
    ) -> tuple[int, list[NilRecord]]:
        """§3.7.1 findNils: (count, one page of НИЛ) an МО registered."""
        el, _ = self.request("findNils")
        ns = self.ns("findNils")
        pagination = etree.SubElement(el, f"{{{ns}}}pagination")
        _s(pagination, self.com, "pageNumber", page)
        _s(pagination, self.com, "itemPerPage", size)
        if mo_code:
            _s(etree.SubElement(el, f"{{{ns}}}nil"), ns, "moCode", mo_code)
        reply = self.call("findNils", el)
        count = int(reply.element.findtext(f"{{{ns}}}pagination/{{{self.com}}}count") or 0)
        return count, [
            NilRecord(
                oip=_t(n, ns, "oip") or "", nlr=_t(n, ns, "nlr") or "", fio=_t(n, ns, "fioEstim") or "",
                birth_day=_d(_t(n, ns, "birthDay")) or date.min, gender=int(_t(n, ns, "gender") or 0),
                date_khodat=_d(_t(n, ns, "dateKhodat")) or date.min, mo_code=_t(n, ns, "moCode") or "",
                mo_okato=_t(n, ns, "moOkato") or "", decision=_t(n, ns, "decision"),
            )
            for n in reply.element.findall(f"{{{ns}}}nil/{{{ns}}}nil")
        ]  # fmt: skip

    def newborns(self, *, legal_enp: str | None = None, legal_oip: str | None = None) -> list[NewbornRecord]:
        """§3.9.1 findNRs: newborns without state registration by their (unconfirmed) representative."""
        el, _ = self.request("findNRs")
        ns = self.ns("findNRs")
        if legal_enp or legal_oip:
            legal = etree.SubElement(el, f"{{{ns}}}legalPerson")
            if legal_oip:
                _s(legal, ns, "oip", legal_oip)
            if legal_enp:
                _s(legal, ns, "enp", legal_enp)
        reply = self.call("findNRs", el)
        return [
            NewbornRecord(
                oip=_t(n, ns, "oip") or "", surname=_t(n, ns, "surnameEstim") or "",
                gender=int(_t(n, ns, "gender") or 0), birthday=_d(_t(n, ns, "birthday")),
                legal_oip=n.findtext(f"{{{ns}}}legalPerson/{{{ns}}}oip"),
                legal_enp=n.findtext(f"{{{ns}}}legalPerson/{{{ns}}}enp"),
            )
            for n in reply.element.findall(f"{{{ns}}}NR")
        ]  # fmt: skip

    def legal_representatives(self, oip: str, *, actual: bool = True) -> list[Representation]:
        """§3.8.1 getLegalRepresentation: this person's representatives and the persons they represent."""
        el, _ = self.request("getLegalRepresentation")
        ns = self.ns("getLegalRepresentation")
        _s(el, ns, "oip", oip)
        _s(el, ns, "isActual", actual)
        reply = self.call("getLegalRepresentation", el)
        out = []
        for wrapper, represents in (("legalRepresentation", False), ("legalRepresentationBy", True)):
            for item in reply.element.findall(f"{{{ns}}}{wrapper}/{{{ns}}}legalRepresentationItem"):
                out.append(
                    Representation(
                        oip=_t(item, ns, "oip") or "", rep_type=_t(item, ns, "legRepType") or "",
                        date_b=_d(_t(item, ns, "legRepDateB")) or date.min, date_e=_d(_t(item, ns, "legRepDateE")),
                        status=_t(item, ns, "status") or "", represents=represents,
                    )
                )  # fmt: skip
        return out

    def bulk(self, method: str, fill: Callable[[Any], None]) -> bytes:
        """A витрина or list (§3.2): Start, wait, the ZIP of the ``content`` attachment."""
        token = self.start(method, fill)
        reply = self.wait(method, token)
        if reply.content is None:
            raise FederalUnavailable(f"ФЕРЗЛ {method}: COMPLETED without content")
        return reply.content


# -- helpers ---------------------------------------------------------------------------------------------


def make_breaker(
    redis: Any | None, *, fail_max: int = 5, reset_timeout: float = 30, name: str = "ferzl"
) -> pybreaker.CircuitBreaker:
    """One breaker per federal endpoint; its state lives in Redis when given (shared by every process).
    Business refusals (:class:`FederalError`) do not count."""
    storage = None
    if redis is not None:
        storage = pybreaker.CircuitRedisStorage(
            pybreaker.STATE_CLOSED, redis, namespace=f"rserz:breaker:{name}"
        )
    return pybreaker.CircuitBreaker(
        fail_max=fail_max,
        reset_timeout=reset_timeout,
        exclude=[FederalError],
        state_storage=storage,
        name=name,
    )


def _journal_into(db: Database) -> Callable[[ExchangeRecord], None]:
    def write(rec: ExchangeRecord) -> None:
        exchange.record_call(db.engine, rec)  # never turns an answered call into a failed one

    return write


def _Transient_to_unavailable(text: str) -> FederalUnavailable:  # noqa: N802 - reads as the failure it is
    return FederalUnavailable(text)


def _s(parent: Any, ns: str, name: str, value: object) -> Any:
    el = etree.SubElement(parent, f"{{{ns}}}{name}")
    if isinstance(value, bool):
        el.text = "true" if value else "false"
    elif isinstance(value, date):
        el.text = value.isoformat()
    else:
        el.text = str(value)
    return el


def _t(el: Any, ns: str, name: str) -> str | None:
    found = el.find(f"{{{ns}}}{name}")
    return (found.text or "").strip() if found is not None else None


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _faultstring(body: bytes) -> str:
    try:
        root = etree.fromstring(body, parser=hardened_parser())
    except etree.XMLSyntaxError:
        return body[:200].decode("utf-8", "replace")
    return str(root.findtext(f".//{{{SOAP_ENV}}}Fault/faultstring") or "")


def _split(content_type: str, body: bytes) -> tuple[bytes, dict[str, bytes]]:
    """The root XML of an answer and its MTOM parts by Content-ID (a plain answer has none)."""
    if not content_type.lower().startswith("multipart/related"):
        return body, {}
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    parts: list[Any] = list(message.iter_parts())
    if not parts:
        raise _Transient("ФЕРЗЛ: an empty multipart answer")
    out: dict[str, bytes] = {}
    for part in parts[1:]:
        cid = (part.get("Content-ID") or "").strip().strip("<>")
        out[cid] = bytes(part.get_payload(decode=True) or b"")
    return bytes(parts[0].get_payload(decode=True) or b""), out


def _event(el: Any, com: str) -> ChangeEvent:
    return ChangeEvent(
        oip=el.findtext(f"{{{com}}}oip") or "",
        event=el.findtext(f"{{{com}}}event") or "",
        dt=el.findtext(f"{{{com}}}dt") or "",
        enp=el.findtext(f"{{{com}}}enp"),
    )


def _application(el: Any, ns: str, com: str, app: PolicyApplication) -> None:
    rq = etree.SubElement(el, f"{{{ns}}}rq")
    pa = etree.SubElement(rq, f"{{{ns}}}pa")
    _s(pa, ns, "isDraft", False)
    _s(pa, ns, "flagNeg", True)
    _s(pa, ns, "terr", app.terr)
    _s(pa, ns, "smo", app.smo)
    _s(pa, ns, "regDate", app.reg_date)
    docs = etree.SubElement(pa, f"{{{ns}}}applicantDoc")
    p = app.person
    for doc in app.documents:
        item = etree.SubElement(docs, f"{{{ns}}}applicantDocItem")
        if doc.docser:
            _s(item, com, "dudlSer", doc.docser)
        _s(item, com, "dudlNum", doc.docnum)
        _s(item, com, "dudlDateB", doc.docdate or p.dr)
        _s(item, com, "dudlType", doc.doctype)
        _s(item, com, "surname", p.fam)
        if p.ot:
            _s(item, com, "patronymic", p.ot)
        _s(item, com, "firstName", p.im)
        if doc.docexp:
            _s(item, com, "dudlDateE", doc.docexp)
        if doc.name_vp:
            _s(item, com, "issuer", doc.name_vp)
        _s(item, com, "ctznOksm", p.c_oksm or "RUS")
        _s(item, com, "birthDay", p.dr)
        if p.mr:
            _s(item, com, "birthplace", p.mr[:255])
        _s(item, ns, "isDraft", False)
        _s(item, ns, "gender", p.w)
        _s(item, ns, "noCitizenship", False)
    if app.snils:
        _s(pa, ns, "snils", app.snils)
    _s(pa, ns, "appMethod", app.app_method)
    _s(pa, ns, "appObject", app.app_object)
    if app.app_cause is not None:
        _s(pa, ns, "appCause", app.app_cause)
    _s(pa, ns, "kl", app.kl)
    if app.enp:
        _s(pa, ns, "enp", app.enp)
    if app.policy_end:
        _s(pa, ns, "policyEndDate", app.policy_end)
    _s(pa, ns, "homeless", app.homeless)
    _s(rq, ns, "checkFlk", True)


def _person(pd: Any, ns: str, com: str) -> FederalPerson:
    person = pd.find(f"{{{ns}}}person/{{{ns}}}personItems")
    policies = []
    for q in pd.findall(f"{{{ns}}}policy/{{{ns}}}policyItems"):
        policies.append(
            FederalPolicy(
                smo=_t(q, com, "insurfCode") or "",
                policy_type=_t(q, com, "pcyType") or "",
                dbeg=_d(_t(q, com, "pcyDateB")) or date.min,
                ser=_t(q, com, "pcySer"),
                num=_t(q, com, "pcyNum") or _t(q, com, "tmpcertNum"),
                dend=_d(_t(q, com, "pcyDateE")),
                status=_t(q, com, "pcyStatus"),
                enp=_t(q, com, "enp"),
            )
        )
    docs = []
    for d in pd.findall(f"{{{ns}}}dudl/{{{ns}}}dudlItems"):
        docs.append(
            Document(
                int(_t(d, com, "dudlType") or 0),
                _t(d, com, "dudlSer"),
                _t(d, com, "dudlNum") or "",
                docdate=_d(_t(d, com, "dudlDateB")),
                docexp=_d(_t(d, com, "dudlDateE")),
                name_vp=_t(d, com, "issuer"),
                is_main=_t(d, ns, "dudlStatus") in ("ДПП", "ДНП"),
            )
        )
    latest = max(policies, key=lambda q: q.dbeg) if policies else None
    snils = pd.findtext(f"{{{ns}}}snils/{{{ns}}}snilsItems/{{{ns}}}snils")
    social = pd.findtext(f"{{{ns}}}socialStatus/{{{ns}}}socialStatusItems/{{{ns}}}socialStatus")
    death = _d(_t(person, ns, "deathDate")) if person is not None else None
    status = (
        "DEAD"
        if death
        else ("INSURED" if latest and (latest.status or "").startswith("Д") else "NOT_INSURED")
    )
    return FederalPerson(
        enp=(latest.enp if latest and latest.enp else "") or "",
        status=status,
        fam=_t(person, ns, "surname") if person is not None else None,
        im=_t(person, ns, "firstName") if person is not None else None,
        ot=_t(person, ns, "patronymic") if person is not None else None,
        w=int(_t(person, ns, "gender") or 0) if person is not None else 0,
        dr=_d(_t(person, ns, "birthDay")) or date.min if person is not None else date.min,
        ss=snils,
        ddeath=death,
        documents=tuple(docs),
        policies=tuple(policies),
        oip=pd.findtext(f"{{{ns}}}oip"),
        social_status=social,
    )


def parse_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def insurance_vitrina(zipped: bytes) -> list[VitrinaRow]:
    """The insurance витрина's CSV (§3.2.6: 28 columns, no header, ``null`` for none) as rows."""

    def v(x: str) -> str | None:
        return None if x in ("", "null") else x

    def d(x: str) -> date | None:
        x2 = v(x)
        if x2 is None:
            return None
        if "." in x2:  # the tables write ДД.ММ.ГГГГ, the examples ГГГГ-ММ-ДД (Appendix A): take both
            dd, mm, yyyy = x2.split(".")
            return date(int(yyyy), int(mm), int(dd))
        return date.fromisoformat(x2[:10])

    def i(x: str) -> int | None:
        x2 = v(x)
        return int(x2) if x2 else None

    out: list[VitrinaRow] = []
    for c in read_csv(zipped):
        if len(c) != 28:
            raise ValueError(f"a row of {len(c)} columns, not 28")
        out.append(
            VitrinaRow(c[1], v(c[23]), i(c[4]), i(c[5]), v(c[2]), v(c[3]), v(c[8]), i(c[15]), v(c[11]), v(c[12]),
                       d(c[13]), v(c[25]), d(c[26]), i(c[27]))
        )  # fmt: skip
    return out


def read_csv(zipped: bytes) -> Iterable[list[str]]:
    """The rows of the one CSV file in a витрина's ZIP (comma-separated, no header; §3.2.6)."""
    import csv
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(zipped)) as z:
        name = z.namelist()[0]
        with z.open(name) as f:
            yield from csv.reader(io.TextIOWrapper(f, encoding="utf-8"))
