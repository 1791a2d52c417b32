"""The СМЭВ 3 emulator as a WSGI application: the message exchange, its providers, the control API.

Routes (all under ``/smev3``):

* ``GET /smev3?wsdl`` (1.1) and ``GET /smev3?wsdl&version=1.3``; ``GET /smev3?xsd=1.1`` — the contract;
* ``POST /smev3`` — SOAP 1.1 document/literal in the 1.1 or 1.3 namespace: ``SendRequest``,
  ``GetRequest``, ``SendResponse``, ``GetResponse``, ``Ack``, ``GetStatus``. The caller's detached GOST
  signature (``CallerInformationSystemSignature``) is verified over the element it must cover, the
  signer's certificate against the trusted CAs, and the certificate names the participant (the hub's
  GOST certificate is the ТФОМС, ``RSERZ_SMEV_MNEMONIC``). Answers are signed with ``var/pki/smev/gost``.
* providers behind it: ЕГР ЗАГС (pushes deaths and births to the ТФОМС, answers ``FATALINFRequest``)
  and СФР (the three СНИЛС requests), answering at once from the emulator's population;
* ``/smev3/_control/…`` — JSON, unsigned: ``faults`` (GET/PUT), ``zags/deaths`` and ``zags/births``
  (POST: plant), ``planted`` (GET: the ground truth), ``queues`` (GET), ``health`` (GET).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from rserz_soap.config import Settings
from rserz_soap.domain.civil import SnilsVerdict
from rserz_soap.emulators.control import StartResponse, faults_route, json_reply, no_route, read_object, reply
from rserz_soap.emulators.faults import draw
from rserz_soap.emulators.smev3 import population, store
from rserz_soap.emulators.smev3.faults import Faults, FaultSwitch
from rserz_soap.emulators.smev3.store import mx_message, mx_person, mx_planted
from rserz_soap.smev import sfr, wire, zags
from rserz_soap.smev.wire import CertificateCheck, Metadata, SmevFault, SmevSignatureError
from rserz_soap.soap.faults import SoapFault
from rserz_soap.soap.hardening import Limits, check_content_type, parse_envelope, read_body
from rserz_soap.xmlsig.c14n import DS_NS
from rserz_soap.xmlsig.keys import KeyPair, load_keypair
from rserz_soap.xmlsig.trust import TrustStore

__all__ = ["CONTRACT_DIR", "MOUNT", "SmevApp", "build_smev_app"]

log = logging.getLogger(__name__)

MOUNT: Final = "/smev3"
CONTROL: Final = "/_control/"
CONTRACT_DIR: Final = Path(__file__).resolve().parent / "contract"
ZAGS: Final = "ZAGS45"  # the mnemonics of the providers behind the emulator
SFR: Final = "SFR"


class SmevApp:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        keypair: KeyPair,
        trust: TrustStore,
        participants: dict[str, str],
        *,
        limits: Limits | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.keypair = keypair
        self.check = CertificateCheck(trust)
        self.participants = participants  # certificate SHA-256 → mnemonic
        self.faults = FaultSwitch(engine)
        self.limits = limits or Limits()
        self._ticker: threading.Thread | None = None

    # -- WSGI ---------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        rest = path[len(MOUNT) :] if path.startswith(MOUNT) else None
        if rest is None:
            return reply(start_response, "404 Not Found", b"not found", "text/plain")
        if rest.startswith(CONTROL):
            return self._control(rest[len(CONTROL) :], method, environ, start_response)
        if rest not in ("", "/"):
            return reply(start_response, "404 Not Found", b"not found", "text/plain")
        if method == "GET":
            return self._contract(environ, start_response)
        if method != "POST":
            return reply(start_response, "405 Method Not Allowed", b"use POST or GET ?wsdl", "text/plain")
        status, content_type, body = self.handle(environ)
        return reply(start_response, status, body, content_type)

    def _contract(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        query = dict(p.partition("=")[::2] for p in environ.get("QUERY_STRING", "").split("&") if p)
        host = environ.get("HTTP_HOST") or f"127.0.0.1:{self.settings.emulators_port}"
        address = f"{environ.get('wsgi.url_scheme', 'http')}://{host}{MOUNT}"
        xsd = query.get("xsd")
        version = query.get("version") or (xsd if xsd in wire.VERSIONS else wire.DEFAULT_VERSION)
        if version not in wire.VERSIONS:
            return reply(start_response, "404 Not Found", b"versions: 1.1, 1.3", "text/plain")
        if "wsdl" in query:
            name = "smev-message-exchange.wsdl"
        elif xsd in wire.VERSIONS:
            name = "types.xsd"
        elif xsd in ("basic", "faults"):
            name = f"{xsd}.xsd"
        else:
            return reply(
                start_response, "404 Not Found", b"use ?wsdl[&version=1.3] or ?xsd=1.1", "text/plain"
            )
        return reply(
            start_response,
            "200 OK",
            contract_text(name, version, address).encode(),
            "text/xml; charset=utf-8",
        )

    # -- SOAP ---------------------------------------------------------------------------------------------

    def handle(self, environ: dict[str, Any]) -> tuple[str, str, bytes]:
        version = wire.DEFAULT_VERSION
        try:
            try:
                check_content_type(environ.get("CONTENT_TYPE"), self.limits)
                raw = read_body(environ["wsgi.input"], environ.get("CONTENT_LENGTH"), self.limits)
                envelope = parse_envelope(raw, self.limits)
            except SoapFault as exc:
                raise SmevFault("InvalidContent", exc.message) from None
            request = wire.body_element(envelope)
            q = etree.QName(request)
            found = wire.version_of(q.namespace)
            if found is None:
                raise SmevFault("InvalidContent", f"unknown namespace {q.namespace}")
            version = found
            faults = self.faults.current()
            if faults.in_outage():
                return (
                    "503 Service Unavailable",
                    "text/plain; charset=utf-8",
                    b"SMEV is unavailable (simulated outage)\n",
                )
            faults.wait_latency()
            if draw(faults.error_rate):
                raise SmevFault("SMEVFailure", "internal failure of the message exchange (simulated)")
            operation = _OPERATIONS.get(q.localname)
            if operation is None:
                raise SmevFault("InvalidContent", f"unknown operation {q.localname}")
            body = operation(self, version, request, faults)
            return "200 OK", "text/xml; charset=utf-8", body
        except SmevFault as fault:
            return "500 Internal Server Error", "text/xml; charset=utf-8", wire.fault_envelope(version, fault)
        except Exception:
            log.exception("СМЭВ emulator: request failed")
            internal = SmevFault("SMEVFailure", "internal error of the message exchange")
            return (
                "500 Internal Server Error",
                "text/xml; charset=utf-8",
                wire.fault_envelope(version, internal),
            )

    def _caller(self, request: Any, name: str, faults: Faults) -> tuple[Any, str]:
        """(the signed element, the caller's mnemonic): the caller's signature verified over ``name``."""
        target, holder = wire.signed_target(request, name)
        try:
            cert = wire.verify_detached(holder, target, self.check)
        except SmevSignatureError as exc:
            if faults.strict_signatures:
                raise SmevFault("SignatureVerificationFault", exc.message, code=exc.code) from None
            log.warning("СМЭВ emulator: signature refused but strict checking is off: %s", exc)
            return target, self.settings.smev_mnemonic
        mnemonic = self.participants.get(cert.fingerprint(hashes.SHA256()).hex())
        if mnemonic is None:
            raise SmevFault(
                "SenderIsNotRegistered",
                f"no participant has the certificate of {cert.subject.rfc4514_string()}",
            )
        return target, mnemonic

    def _send_request(self, version: str, request: Any, faults: Faults) -> bytes:
        data, sender = self._caller(request, "SenderProvidedRequestData", faults)
        holder = wire.child(request, "CallerInformationSystemSignature")
        message_id = _checked_id(wire.text_of(data, "MessageID"))
        content = wire.primary_content(data)
        if content is None:
            raise SmevFault("InvalidContent", "SenderProvidedRequestData has no MessagePrimaryContent")
        q = etree.QName(content)
        provider = _PROVIDERS.get(q.namespace or "")
        if provider is None:
            raise SmevFault("BusinessDataTypeIsNotSupported", f"no provider serves {q.namespace}")
        self._store(
            version,
            "request",
            message_id,
            sender,
            provider[0],
            content,
            data,
            holder,
            reply_to=_reply_to(sender, message_id),
        )
        provider[1](self, version, message_id, sender, content)
        meta = Metadata(message_id, "REQUEST", sender, provider[0], wire.now_iso(), "requestIsQueued")
        return wire.metadata_answer(version, "SendRequestResponse", meta, self.keypair)

    def _send_response(self, version: str, request: Any, faults: Faults) -> bytes:
        data, sender = self._caller(request, "SenderProvidedResponseData", faults)
        holder = wire.child(request, "CallerInformationSystemSignature")
        message_id = _checked_id(wire.text_of(data, "MessageID"))
        recipient, original = _route(wire.text_of(data, "To") or "")
        with self.engine.connect() as conn:
            asked = conn.execute(
                select(mx_message.c.recipient).where(
                    mx_message.c.message_id == original, mx_message.c.kind == "request"
                )
            ).scalar()
        if asked != sender:
            raise SmevFault("InvalidContent", "To names no request delivered to this participant")
        content = wire.primary_content(data)
        ns, root = (
            (etree.QName(content).namespace, etree.QName(content).localname)
            if content is not None
            else ("", "RequestRejected")
        )
        self._store(
            version,
            "response",
            message_id,
            sender,
            recipient,
            None,
            data,
            holder,
            original=original,
            selector=(ns or "", root),
        )
        meta = Metadata(message_id, "RESPONSE", sender, recipient, wire.now_iso(), "responseIsQueued")
        return wire.metadata_answer(version, "SendResponseResponse", meta, self.keypair)

    def _get(self, version: str, request: Any, faults: Faults) -> bytes:
        kind = "request" if etree.QName(request).localname == "GetRequestRequest" else "response"
        selector, recipient = self._caller(request, "MessageTypeSelector", faults)
        namespace = wire.text_of(selector, "NamespaceURI")
        root = wire.text_of(selector, "RootElementLocalName")
        redelivery = (
            faults.redelivery_seconds
            if faults.redelivery_seconds is not None
            else self.settings.smev_redelivery
        )
        t = mx_message.c
        with self.engine.begin() as conn:
            again = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, redelivery)
            due = or_(t.state == "queued", and_(t.state == "delivered", t.delivered_at < again))
            stmt = select(mx_message).where(t.recipient == recipient, t.kind == kind, due)
            if namespace:
                stmt = stmt.where(t.namespace_uri == namespace)
            if root:
                stmt = stmt.where(t.root == root)
            row = conn.execute(stmt.order_by(t.id).limit(1).with_for_update(skip_locked=True)).first()
            if row is None:
                return wire.no_message(
                    version, "GetRequestResponse" if kind == "request" else "GetResponseResponse"
                )
            conn.execute(
                update(mx_message)
                .where(t.id == row.id)
                .values(state="delivered", deliveries=t.deliveries + 1, delivered_at=func.now())
            )
        meta = Metadata(
            row.message_id,
            "REQUEST" if kind == "request" else "RESPONSE",
            row.sender,
            row.recipient,
            row.sent_at.isoformat(),
            "requestIsDelivered" if kind == "request" else "responseIsDelivered",
            delivery_timestamp=wire.now_iso(),
        )
        return wire.delivery(
            version,
            kind,
            row.data_xml.encode(),
            row.signature_xml.encode() if row.signature_xml else None,
            meta,
            self.keypair,
            reply_to=row.reply_to,
            original_message_id=row.original_message_id,
        )

    def _ack(self, version: str, request: Any, faults: Faults) -> bytes:
        target, sender = self._caller(request, "AckTargetMessage", faults)
        message_id = (target.text or "").strip()
        t = mx_message.c
        with self.engine.begin() as conn:
            row = conn.execute(
                select(t.id, t.duplicated)
                .where(t.message_id == message_id, t.recipient == sender, t.state == "delivered")
                .with_for_update()
            ).first()
            if row is None:
                raise SmevFault(
                    "TargetMessageIsNotFound", f"no delivered, unacknowledged message {message_id}"
                )
            if not row.duplicated and draw(faults.duplicate_rate):  # delivered once more after the Ack
                conn.execute(
                    update(mx_message)
                    .where(t.id == row.id)
                    .values(state="queued", duplicated=True, acked_at=func.now())
                )
            else:
                conn.execute(
                    update(mx_message).where(t.id == row.id).values(state="acked", acked_at=func.now())
                )
        return wire.empty_answer(version, "AckResponse")

    def _get_status(self, version: str, request: Any, faults: Faults) -> bytes:
        self._caller(request, "Timestamp", faults)
        return wire.empty_answer(version, "GetStatusResponse")  # no asynchronous statuses are emulated

    # -- queues -----------------------------------------------------------------------------------------

    def _store(
        self,
        version: str,
        kind: str,
        message_id: str,
        sender: str,
        recipient: str,
        content: Any | None,
        data: Any,
        holder: Any | None,
        *,
        reply_to: str | None = None,
        original: str | None = None,
        selector: tuple[str, str] | None = None,
    ) -> None:
        signature = holder.find(f"{{{DS_NS}}}Signature") if holder is not None else None
        if selector is None:
            q = etree.QName(content)
            selector = (q.namespace or "", q.localname)
        row = {
            "message_id": message_id,
            "version": version,
            "kind": kind,
            "sender": sender,
            "recipient": recipient,
            "namespace_uri": selector[0],
            "root": selector[1],
            "original_message_id": original,
            "reply_to": reply_to,
            "data_xml": wire.serialize(data).decode(),
            "signature_xml": wire.serialize(signature).decode() if signature is not None else None,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(mx_message).values(**row))
        except IntegrityError:
            raise SmevFault("MessageIsAlreadySent", f"a message {message_id} was sent before") from None

    def provider_send(
        self,
        sender: str,
        recipient: str,
        content: Any,
        message_id: str,
        *,
        version: str = wire.DEFAULT_VERSION,
    ) -> None:
        """A provider's own request (ЗАГС pushing a record): signed as its system would, queued."""
        env = wire.parse(wire.send_request(version, message_id, content, self.keypair))
        request = wire.body_element(env)
        data = wire.child(request, "SenderProvidedRequestData")
        holder = wire.child(request, "CallerInformationSystemSignature")
        self._store(
            version,
            "request",
            message_id,
            sender,
            recipient,
            content,
            data,
            holder,
            reply_to=_reply_to(sender, message_id),
        )

    def provider_answer(
        self, version: str, sender: str, to_mnemonic: str, original: str, content: Any
    ) -> None:
        message_id = wire.new_message_id()
        env = wire.parse(
            wire.send_response(
                version, message_id, _reply_to(to_mnemonic, original), self.keypair, content=content
            )
        )
        request = wire.body_element(env)
        data = wire.child(request, "SenderProvidedResponseData")
        holder = wire.child(request, "CallerInformationSystemSignature")
        self._store(
            version, "response", message_id, sender, to_mnemonic, content, data, holder, original=original
        )

    # -- ЗАГС and СФР -------------------------------------------------------------------------------------

    def _zags(self, version: str, message_id: str, sender: str, content: Any) -> None:
        if etree.QName(content).localname != "FATALINFRequest":
            raise SmevFault("BusinessDataTypeIsNotSupported", "ЕГР ЗАГС answers FATALINFRequest only")
        person = zags.death_query_person(content)
        t, p = mx_planted.c, mx_person.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(mx_planted, mx_person)
                .join(mx_person, and_(p.enp == t.enp, p.twin.is_(False)))
                .where(
                    t.kind.in_(("death", "cancelled")),
                    t.cancel_message_id.is_(None),
                    func.upper(p.fam) == person.fam,
                    func.upper(p.im) == person.im,
                    p.dr == person.dr,
                )
            ).all()
        records = [
            zags.death_request(
                r.message_id, r.act_number, r.act_date, population.OFFICE, population._civil(r), r.ddeath
            )
            for r in rows
        ]
        answer = zags.death_query_answer(content.get("ИдЗапрос") or "", records)
        self.provider_answer(version, ZAGS, sender, message_id, answer)

    def _sfr(self, version: str, message_id: str, sender: str, content: Any) -> None:
        kind, person, snils, passport = sfr.parse_request(content)
        p = mx_person.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(mx_person).where(
                    func.upper(p.fam) == person.fam,
                    func.upper(p.im) == person.im,
                    func.coalesce(func.upper(p.ot), "") == (person.ot or ""),
                    p.dr == person.dr,
                )
            ).all()
        if kind == "SnilsByAdditionalDataRequest" and passport is not None:
            exact = [
                r
                for r in rows
                if r.docnum == passport[1] and (r.docser or "").replace(" ", "") == passport[0]
            ]
            rows = exact or [r for r in rows if not r.twin]
        if kind == "SnilsValidationRequest":
            if not rows:
                verdict = SnilsVerdict.NOT_FOUND
            elif any(r.snils == snils for r in rows):
                verdict = SnilsVerdict.FOUND
            else:
                verdict = SnilsVerdict.DIFFERS
            answer = sfr.answer(kind, verdict)
        else:
            found = tuple(r.snils for r in rows)
            answer = sfr.answer(kind, SnilsVerdict.FOUND if found else SnilsVerdict.NOT_FOUND, found)
        self.provider_answer(version, SFR, sender, message_id, answer)

    # -- planting ------------------------------------------------------------------------------------------

    def plant_deaths(
        self, count: int, *, ambiguous: int = 0, cancelled: int = 0, rng_seed: int | None = None
    ) -> list[dict[str, Any]]:
        plants = population.deaths(
            self.engine,
            wire.new_message_id,
            count,
            ambiguous=ambiguous,
            cancelled=cancelled,
            rng_seed=rng_seed,
        )
        for plant in plants:
            self.provider_send(ZAGS, self.settings.smev_mnemonic, plant.content, plant.message_id)
        return [_jsonable(p.truth) for p in plants if p.truth is not None]

    def plant_births(self, count: int, *, rng_seed: int | None = None) -> list[dict[str, Any]]:
        plants = population.births(self.engine, wire.new_message_id, count, rng_seed=rng_seed)
        for plant in plants:
            self.provider_send(ZAGS, self.settings.smev_mnemonic, plant.content, plant.message_id)
        return [_jsonable(p.truth) for p in plants if p.truth is not None]

    def start_demo_ticker(self, per_hour: int) -> None:
        """ЗАГС of the demo region: a death or a birth every ``3600/per_hour`` seconds, one cancellation in 20."""
        if per_hour <= 0 or self._ticker is not None:
            return
        interval = 3600.0 / per_hour

        def tick() -> None:
            import random

            rnd = random.Random()  # noqa: S311 - demo data
            while True:
                time.sleep(interval)
                try:
                    roll = rnd.random()
                    if roll < 0.65:
                        self.plant_deaths(1)
                    elif roll < 0.95:
                        self.plant_births(1)
                    else:
                        self.plant_deaths(1, cancelled=1)
                except Exception:
                    log.exception("СМЭВ emulator: the demo ЗАГС could not plant an event")

        self._ticker = threading.Thread(target=tick, name="smev-demo-zags", daemon=True)
        self._ticker.start()

    # -- control API ---------------------------------------------------------------------------------------

    def _control(
        self, name: str, method: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        try:
            if name == "faults":
                return faults_route(self.faults, method, environ, start_response)
            if name == "zags/deaths" and method == "POST":
                body = read_object(environ)
                truth = self.plant_deaths(
                    int(body.get("count", 1)),
                    ambiguous=int(body.get("ambiguous", 0)),
                    cancelled=int(body.get("cancelled", 0)),
                    rng_seed=body.get("seed"),
                )
                return json_reply(start_response, "200 OK", truth)
            if name == "zags/births" and method == "POST":
                body = read_object(environ)
                return json_reply(
                    start_response,
                    "200 OK",
                    self.plant_births(int(body.get("count", 1)), rng_seed=body.get("seed")),
                )
            if name == "planted" and method == "GET":
                return json_reply(start_response, "200 OK", list(population.planted(self.engine)))
            if name == "queues" and method == "GET":
                t = mx_message.c
                with self.engine.connect() as conn:
                    rows = conn.execute(
                        select(t.recipient, t.kind, t.root, t.state, func.count()).group_by(
                            t.recipient, t.kind, t.root, t.state
                        )
                    )
                    counts = [
                        {"recipient": r[0], "kind": r[1], "root": r[2], "state": r[3], "count": r[4]}
                        for r in rows
                    ]
                return json_reply(start_response, "200 OK", counts)
            if name == "health" and method == "GET":
                with self.engine.connect() as conn:
                    persons = conn.execute(select(func.count()).select_from(mx_person)).scalar_one()
                return json_reply(
                    start_response,
                    "200 OK",
                    {"status": "ok", "persons": persons, "versions": list(wire.VERSIONS)},
                )
        except ValueError as exc:
            return json_reply(start_response, "400 Bad Request", {"error": str(exc)})
        return no_route(start_response, method, name)


_OPERATIONS: Final[dict[str, Callable[[SmevApp, str, Any, Faults], bytes]]] = {
    "SendRequestRequest": SmevApp._send_request,
    "SendResponseRequest": SmevApp._send_response,
    "GetRequestRequest": SmevApp._get,
    "GetResponseRequest": SmevApp._get,
    "AckRequest": SmevApp._ack,
    "GetStatusRequest": SmevApp._get_status,
}

#: content namespace → (provider mnemonic, what it does with a request)
_PROVIDERS: Final[dict[str, tuple[str, Callable[[SmevApp, str, str, str, Any], None]]]] = {
    zags.FATALINF_NS: (ZAGS, SmevApp._zags),
    **dict.fromkeys(sfr.ROOTS.values(), (SFR, SmevApp._sfr)),
}


def build_smev_app(settings: Settings, engine: Engine) -> SmevApp:
    """The emulator over ``engine`` (its own database, schema made): its key ``var/pki/smev/gost``, the
    trusted CAs of ``var/pki``, the hub's GOST certificate as the ТФОМС participant."""
    store.relax_durability(engine)
    pki = settings.pki_dir
    keypair = load_keypair(pki / "smev" / "gost" / "key.pem", pki / "smev" / "gost" / "cert.pem")
    participants: dict[str, str] = {}
    hub_cert = pki / "hub" / "gost" / "cert.pem"
    if hub_cert.exists():
        from cryptography import x509

        fp = x509.load_pem_x509_certificate(hub_cert.read_bytes()).fingerprint(hashes.SHA256()).hex()
        participants[fp] = settings.smev_mnemonic
    return SmevApp(settings, engine, keypair, TrustStore.from_pki_dir(pki), participants)


def contract_text(name: str, version: str, address: str = "") -> str:
    template = (CONTRACT_DIR / name).read_text(encoding="utf-8")
    return template.replace("@VERSION@", version).replace("@ADDRESS@", address)


# --------------------------------------------------------------------------- helpers


def _checked_id(message_id: str | None) -> str:
    if not wire.is_message_id(message_id):
        raise SmevFault("InvalidMessageIdFormat", f"MessageID must be a lowercase UUID v1: {message_id!r}")
    assert message_id is not None
    return message_id


def _reply_to(mnemonic: str, message_id: str) -> str:
    """An opaque routing token, as СМЭВ writes ReplyTo: who asked and which message."""
    return base64.b64encode(f"{mnemonic}|{message_id}".encode()).decode()


def _route(token: str) -> tuple[str, str]:
    try:
        mnemonic, _, message_id = base64.b64decode(token, validate=True).decode().partition("|")
    except (binascii.Error, ValueError):
        raise SmevFault("InvalidContent", "To is not a ReplyTo this СМЭВ issued") from None
    if not mnemonic or not message_id:
        raise SmevFault("InvalidContent", "To is not a ReplyTo this СМЭВ issued")
    return mnemonic, message_id


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in row.items()}
