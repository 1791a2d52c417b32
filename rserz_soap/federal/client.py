"""The hub's client of the federal register (ФЕРЗЛ): zeep, WS-Security, a timeout and a circuit breaker.

* zeep reads the contract from the federal endpoint's ``?wsdl``; the API version in its namespace must be
  the configured one (``RSERZ_FERZL_API_VERSION``), or the client refuses to start with a clear error —
  the federal side changes versions, and calling a new version with old assumptions is how data rots.
* Every request is signed by our zeep plugin with the hub's key; every answer's signature is verified
  against the trusted CA and pinned to the federal certificate when ``var/pki/ferzl/cert.pem`` is known.
  Answers are read with lxml (``federal/xml.py``): one mapping, fast enough for 10,000-person
  reconciliation results.
* Failures are sorted in two: :class:`FederalUnavailable` (network, timeout, HTTP 5xx, outage, a
  transient federal fault, an open circuit) — try again later; :class:`FederalError` (the federal register
  refused the request) — trying again will not help. The client itself never retries: retries are RQ
  jobs with explicit intervals (``jobs/federal.py``), so a retry survives a worker restart.
* The circuit breaker (pybreaker) opens after ``fail_max`` consecutive unavailabilities and lets one trial
  call through after ``reset_timeout`` seconds. With Redis its state is shared by every process of the hub.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import pybreaker
import requests
import zeep
import zeep.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from zeep.transports import Transport

from rserz_soap.config import Settings
from rserz_soap.db import exchange
from rserz_soap.db.exchange import ExchangeRecord
from rserz_soap.db.uow import Database
from rserz_soap.domain.federal import (
    AcceptAnswer,
    BatchResult,
    BatchStatus,
    FederalChange,
    FederalPerson,
    InsuranceStatus,
)
from rserz_soap.federal.xml import children, person_from_xml, person_to_zeep, policy_from_xml
from rserz_soap.files.xmlfile import hardened_parser
from rserz_soap.usecases.federal_port import FederalError, FederalUnavailable
from rserz_soap.xmlsig.keys import load_keypair
from rserz_soap.xmlsig.trust import TrustError, TrustStore
from rserz_soap.xmlsig.wsse import WsseError
from rserz_soap.xmlsig.zeep_plugin import WsseSigner

log = logging.getLogger(__name__)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
#: federal fault codes that mean "not now" rather than "no"
TRANSIENT_FAULTS = frozenset({"MPI-500", "MPI-503"})
BATCH_LIMIT = 10_000


def namespace(version: str) -> str:
    return f"urn:ferzl:mpi:types:{version}"


class _Transient(Exception):
    """Inside the breaker: a failure that counts towards opening it."""


class FederalClient:
    def __init__(
        self,
        endpoint: str,
        version: str,
        signer: WsseSigner,
        *,
        timeout: float = 30.0,
        breaker: pybreaker.CircuitBreaker | None = None,
        session: requests.Session | None = None,
        journal: Callable[[ExchangeRecord], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.version = version
        self.ns = namespace(version)
        self.signer = signer
        self.timeout = timeout
        self.breaker = breaker or make_breaker(None)
        self._session = session or requests.Session()
        self._journal = journal
        self._client: zeep.Client | None = None
        self._service: Any = None

    @classmethod
    def from_settings(
        cls, settings: Settings, redis: Any | None = None, db: Database | None = None
    ) -> FederalClient:
        """The client of the configured ФЕРЗЛ; with ``redis`` its breaker is shared by every process, with
        ``db`` every call is in the hub's exchange journal (direction ``out``, no bodies)."""
        pki = settings.pki_dir
        keypair = load_keypair(pki / "hub" / "key.pem", pki / "hub" / "cert.pem")
        pinned = _fingerprint(pki / "ferzl" / "cert.pem")
        signer = WsseSigner(
            keypair,
            trust=TrustStore.from_pki_dir(pki),
            expected_signers={pinned} if pinned else None,
            accept_unsigned_faults=True,
        )
        return cls(
            settings.ferzl_endpoint,
            settings.ferzl_api_version,
            signer,
            timeout=settings.ferzl_timeout,
            breaker=make_breaker(
                redis, reset_timeout=settings.ferzl_breaker_reset, name=settings.ferzl_endpoint
            ),
            journal=_journal_into(db) if db is not None else None,
        )

    # -- operations --------------------------------------------------------------------------------------

    def get_person_data(self, *, on: date | None = None, **key: Any) -> FederalPerson | None:
        """The federal card of the person a key finds (``enp=``, ``policy=``, ``document=``, ``snils=``,
        ``fio=`` as in SearchKeyType), as it was on ``on``."""
        body = self._call("getPersonData", key=_key(key), date=on)
        k = children(body)
        return person_from_xml(k["person"][0]) if k.get("person") else None

    def get_insurance_status(self, on: date, **key: Any) -> InsuranceStatus:
        """Whether the person a key finds is insured on ``on``, and by which policy."""
        k = children(self._call("getInsuranceStatus", key=_key(key), date=on))
        return InsuranceStatus(
            found=k["found"][0].text == "true",
            insured=k["insured"][0].text == "true",
            enp=k["enp"][0].text if k.get("enp") else None,
            status=k["status"][0].text if k.get("status") else None,
            policy=policy_from_xml(k["policy"][0]) if k.get("policy") else None,
        )

    def get_person_history(self, enp: str) -> list[tuple[int, str, FederalPerson]]:
        body = self._call("getPersonDataHistory", enp=enp)
        out = []
        for v in children(body).get("version", []):
            vk = children(v)
            out.append((int(vk["versionNo"][0].text), vk["source"][0].text, person_from_xml(vk["person"][0])))
        return out

    def find_persons(
        self,
        fam: str,
        im: str | None = None,
        ot: str | None = None,
        dr: date | None = None,
        *,
        page: int = 1,
        page_size: int = 20,
    ) -> tuple[int, list[FederalPerson]]:
        body = self._call(
            "findPersonsByPersCriteria",
            fam=fam,
            im=im,
            ot=ot,
            birthDate=dr,
            page=page,
            pageSize=page_size,
        )
        k = children(body)
        return int(k["total"][0].text), [person_from_xml(p) for p in k.get("person", [])]

    def start_reconciliation(
        self,
        region: str,
        *,
        enps: Sequence[str] | None = None,
        after_enp: str | None = None,
        limit: int = BATCH_LIMIT,
        request_id: str | None = None,
    ) -> str:
        """Start a batch: the listed ЕНП, or the region's next ``limit`` persons after ``after_enp``."""
        if enps is not None:
            if not 0 < len(enps) <= BATCH_LIMIT:
                raise ValueError(f"a batch holds 1…{BATCH_LIMIT} ЕНП, got {len(enps)}")
            kwargs: dict[str, Any] = {"enpList": {"enp": list(enps)}}
        else:
            kwargs = {"slice": {"afterEnp": after_enp, "limit": min(limit, BATCH_LIMIT)}}
        body = self._call("startReconciliation", region=region, request_id=request_id, **kwargs)
        return str(children(body)["batchId"][0].text)

    def reconciliation_status(self, batch_id: str) -> BatchStatus:
        k = children(self._call("getReconciliationStatus", batchId=batch_id))
        error = children(k["error"][0]) if k.get("error") else None
        return BatchStatus(
            batch_id,
            k["state"][0].text,
            int(k["count"][0].text) if k.get("count") else None,
            f"{error['code'][0].text} {error['text'][0].text}" if error else None,
        )

    def reconciliation_result(self, batch_id: str) -> BatchResult:
        k = children(self._call("getReconciliationResult", batchId=batch_id))
        return BatchResult(
            batch_id,
            tuple(person_from_xml(p) for p in k.get("person", [])),
            tuple(e.text for e in k.get("notFound", [])),
            k["lastEnp"][0].text if k.get("lastEnp") else None,
            bool(k.get("endOfRegion")) and k["endOfRegion"][0].text == "true",
        )

    def insurance_status_changes(
        self, region: str, dbeg: date, dend: date, *, after: int | None = None, page_size: int = 1000
    ) -> tuple[list[FederalChange], bool]:
        """One page of federal changes recorded in [dbeg, dend] after change ``after``; and whether more follow."""
        body = self._call(
            "getInsuranceStatusChanges",
            region=region,
            dateBegin=dbeg,
            dateEnd=dend,
            afterChangeId=after,
            pageSize=page_size,
        )
        k = children(body)
        changes = []
        for c in k.get("change", []):
            ck = children(c)
            changes.append(
                FederalChange(
                    int(ck["changeId"][0].text),
                    date.fromisoformat(ck["changeDate"][0].text),
                    ck["reason"][0].text or "",
                    person_from_xml(ck["person"][0]),
                )
            )
        return changes, k["more"][0].text == "true"

    def accept_regional_change(
        self, request_id: str, region: str, operation: str, change_date: date, card: Any
    ) -> AcceptAnswer:
        """Push an accepted regional change; the same ``request_id`` always gets the same answer."""
        body = self._call(
            "acceptRegionalChange",
            request_id=request_id,
            region=region,
            operation=operation,
            changeDate=change_date,
            person=person_to_zeep(card),
        )
        k = children(body)
        errors = tuple((children(e)["code"][0].text, children(e)["text"][0].text) for e in k.get("error", []))
        return AcceptAnswer(
            k["result"][0].text == "ACCEPTED", k["enp"][0].text if k.get("enp") else None, errors
        )

    # -- plumbing ----------------------------------------------------------------------------------------

    def _call(self, op_name: str, /, *, request_id: str | None = None, **kwargs: Any) -> Any:
        """The verified body element of the answer to operation ``op_name``; every call is journaled."""
        external_id = request_id or str(uuid.uuid4())
        started = time.perf_counter()
        outcome: str = "error"
        code: str | None = "UNAVAILABLE"
        try:
            body = self.breaker.call(self._exchange, op_name, external_id, kwargs)
            outcome, code = "ok", None
            return body
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
                        uuid.uuid4(),
                        "out",
                        "ferzl",
                        op_name,
                        outcome,
                        peer="ferzl",
                        request_id=_uuid_or_none(external_id),
                        error_code=code,
                        duration_ms=int((time.perf_counter() - started) * 1000),
                    )
                )

    def _exchange(self, operation: str, request_id: str, kwargs: dict[str, Any]) -> Any:
        try:
            service = self._bound()
            with self._zeep().settings(raw_response=True):
                response = getattr(service, operation)(
                    externalRequestId=request_id, **{k: v for k, v in kwargs.items() if v is not None}
                )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(f"ФЕРЗЛ unreachable: {type(exc).__name__}") from None
        except zeep.exceptions.TransportError as exc:
            raise _Transient(f"ФЕРЗЛ WSDL: HTTP {exc.status_code}") from None
        return self._read(operation, response)

    def _read(self, operation: str, response: requests.Response) -> Any:
        kind = response.headers.get("Content-Type", "")
        if response.status_code not in (200, 500) or "xml" not in kind:
            raise _Transient(f"ФЕРЗЛ {operation}: HTTP {response.status_code}")
        try:
            envelope = etree.fromstring(response.content, parser=hardened_parser())
        except etree.XMLSyntaxError as exc:
            raise _Transient(f"ФЕРЗЛ {operation}: unreadable answer ({exc.msg})") from None
        try:
            self.signer.verify(envelope)
        except (WsseError, TrustError) as exc:
            # we cannot trust the answer, and cannot know what it said: treat it like no answer at all
            log.error("ФЕРЗЛ %s: answer signature refused: %s", operation, exc)
            raise _Transient(f"ФЕРЗЛ {operation}: answer signature refused ({exc})") from None
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        first = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
        if first is None:
            raise _Transient(f"ФЕРЗЛ {operation}: empty answer")
        if first.tag == f"{{{SOAP_ENV}}}Fault":
            code, text = _fault(first)
            if code in TRANSIENT_FAULTS:
                raise _Transient(f"ФЕРЗЛ {operation}: {code} {text}")
            raise FederalError(code, text)
        return first

    def _zeep(self) -> zeep.Client:
        if self._client is None:
            transport = Transport(  # type: ignore[no-untyped-call]
                session=self._session, timeout=self.timeout, operation_timeout=self.timeout
            )
            client = zeep.Client(  # type: ignore[no-untyped-call]
                f"{self.endpoint}?wsdl", transport=transport, wsse=self.signer
            )
            binding = f"{{{self.ns}}}FerzlMpiBinding"
            if binding not in client.wsdl.bindings:
                found = sorted(str(b) for b in client.wsdl.bindings)
                raise FederalError("VERSION", f"ФЕРЗЛ does not serve API {self.version} (it serves {found})")
            self._service = client.create_service(binding, self.endpoint)  # type: ignore[no-untyped-call]
            self._client = client
        return self._client

    def _bound(self) -> Any:
        self._zeep()
        return self._service


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _journal_into(db: Database) -> Callable[[ExchangeRecord], None]:
    def write(rec: ExchangeRecord) -> None:
        exchange.record_call(db.engine, rec)  # never turns an answered call into a failed one

    return write


def _key(key: dict[str, Any]) -> dict[str, Any]:
    if len(key) != 1:
        raise ValueError(f"exactly one search key, got {sorted(key)}")
    return key


def _fault(fault: Any) -> tuple[str, str]:
    detail = fault.find("detail")
    if detail is not None:
        for el in detail.iter():
            if isinstance(el.tag, str) and el.tag.endswith("}fault"):
                k = children(el)
                return (k["code"][0].text or "?", (k["text"][0].text or "") if k.get("text") else "")
    return (fault.findtext("faultcode") or "?", fault.findtext("faultstring") or "")


def _fingerprint(path: Any) -> str | None:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        return None
    return cert.fingerprint(hashes.SHA256()).hex()


def make_breaker(
    redis: Any | None, *, fail_max: int = 5, reset_timeout: float = 30, name: str = "ferzl"
) -> pybreaker.CircuitBreaker:
    """One breaker per federal endpoint; its state lives in Redis when given (shared by every process)."""
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
