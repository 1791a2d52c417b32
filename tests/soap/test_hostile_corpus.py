"""The hostile-input corpus (tests/data/hostile/cases.toml): every request an attacker or a broken client
sends gets the coded Fault the contract names, the register is left exactly as it was, and the hub is up
afterwards. New cases are data: a file and a line in cases.toml."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import text

from rserz_soap.db.participants import register_certificate
from rserz_soap.soap.hardening import Limits
from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.keys import KeyPair, load_keypair
from rserz_soap.xmlsig.wsse import sign_envelope
from tests.soap.conftest import Hub

CORPUS = Path(__file__).resolve().parents[1] / "data" / "hostile"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
DS = "http://www.w3.org/2000/09/xmldsig#"
CMN = "urn:ru:rserz:soap:common:v1"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
COUNTED = (
    "person_version",
    "change_journal",
    "buffer_entry",
    "buffer_decision",
    "idempotency_key",
    "federal_push",
)


@dataclass(frozen=True)
class Case:
    name: str
    expect: str
    file: str | None = None
    raw: bool = False
    generate: str | None = None
    sign: str = "none"
    mutate: str | None = None
    content_type: str = "text/xml; charset=utf-8"
    method: str = "POST"
    service: str | None = None


def _cases() -> list[Case]:
    data = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))
    return [Case(**case) for case in data["case"]]


CASES = _cases()


def test_the_corpus_is_whole() -> None:
    """Every file is used by a case and every case's file exists: the corpus cannot rot silently."""
    used = {c.file for c in CASES if c.file}
    present = {p.name for p in CORPUS.glob("*.xml")}
    assert used == present
    assert len({c.name for c in CASES}) == len(CASES)
    assert len(CASES) >= 45


# --- who signs ---------------------------------------------------------------------------------------


def _special(hub: Hub, folder: str, register: bool = False, **kw: Any) -> KeyPair:
    if not (hub.pki / folder / "cert.pem").exists():
        devpki.issue_certificate(
            hub.pki, devpki.ParticipantSpec("mo", "450001", "Поликлиника 1"), folder=folder, **kw
        )
        if register:
            with hub.engine.begin() as conn:
                pid = conn.execute(
                    text("SELECT id FROM participant WHERE kind = 'mo' AND code = '450001'")
                ).scalar_one()
                register_certificate(conn, pid, (hub.pki / folder / "cert.pem").read_bytes())
    return load_keypair(hub.pki / folder / "key.pem", hub.pki / folder / "cert.pem")


def _self_made(hub: Hub) -> KeyPair:
    other = hub.pki.parent / "corpus-selfmade"
    if not other.exists():
        devpki.init_pki(other, [devpki.ParticipantSpec("mo", "450001", "Самозванец")])
    return load_keypair(other / "mo-450001" / "key.pem", other / "mo-450001" / "cert.pem")


def _revoked(hub: Hub) -> KeyPair:
    keypair = _special(hub, "mo-corpus-revoked", register=True)
    devpki.revoke(hub.pki, keypair.certificate.serial_number)
    return keypair


SIGNERS: dict[str, Callable[[Hub], KeyPair]] = {
    "selfmade": _self_made,
    "expired": lambda h: _special(
        h,
        "mo-corpus-expired",
        register=True,
        not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2021, 1, 1, tzinfo=dt.UTC),
    ),
    "unregistered": lambda h: _special(h, "mo-corpus-unknown"),
    "revoked": _revoked,
}


def _keypair(hub: Hub, signer: str) -> KeyPair:
    return SIGNERS[signer](hub) if signer in SIGNERS else hub.keypair(signer)


# --- what is done to the signed message ----------------------------------------------------------------

Sender = Callable[[bytes], requests.Response]


@dataclass
class Signing:
    """How a case's envelope is signed and what is done to it afterwards."""

    now: dt.datetime | None = None
    ttl: float = 300


SIGNING: dict[str, Signing] = {
    "stale": Signing(now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)),
    "far_future": Signing(now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), ttl=10 * 365 * 86400),
    "future": Signing(now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)),
}


def _body(env: Any) -> Any:
    return env.find(f"{{{ENV}}}Body")


def _tamper(env: Any, hub: Hub) -> None:
    enp = env.find(".//{*}ENP")
    enp.text = hub.persons[1].enp


def _refs32(env: Any, hub: Hub) -> None:
    signed_info = env.find(f".//{{{DS}}}SignedInfo")
    body_ref = next(r for r in signed_info.findall(f"{{{DS}}}Reference") if "TS-" not in (r.get("URI") or ""))
    for _ in range(31):
        signed_info.append(copy.deepcopy(body_ref))
    operation = _body(env)[0]
    operation.append(etree.Comment("x" * (4 * 1024 * 1024 - 40_000)))


def _wrap_body(env: Any, hub: Hub) -> None:
    """The signed Body moved into a Header wrapper; a Body asking about someone else in its place."""
    body = _body(env)
    header = env.find(f"{{{ENV}}}Header")
    wrapper = etree.SubElement(header, "{urn:example:attacker}Wrapper")
    wrapper.append(copy.deepcopy(body))
    fake = copy.deepcopy(body)
    for name in list(fake.attrib):
        del fake.attrib[name]
    _tamper(fake, hub)
    env.replace(body, fake)


def _second_security(env: Any, hub: Hub) -> None:
    header = env.find(f"{{{ENV}}}Header")
    security = header.find(f"{{{WSSE}}}Security")
    second = copy.deepcopy(security)
    header.insert(0, second)
    _tamper(env, hub)


def _duplicate_id(env: Any, hub: Hub) -> None:
    body = _body(env)
    header = env.find(f"{{{ENV}}}Header")
    header.append(copy.deepcopy(body))  # the signed original, Id and all, where nobody reads it
    _tamper(env, hub)


def _xml_id(env: Any, hub: Hub) -> None:
    body = _body(env)
    body_id = body.get(f"{{{WSU}}}Id")
    body.set(XML_ID, body_id)
    decoy = etree.SubElement(env.find(f"{{{ENV}}}Header"), "{urn:example:attacker}Decoy")
    decoy.set(XML_ID, body_id)
    _tamper(env, hub)


def _token_bad_version(env: Any, hub: Hub) -> None:
    """The token's certificate says X.509 version 4: ``cryptography`` raises InvalidVersion, not ValueError."""
    token = env.find(f".//{{{WSSE}}}BinarySecurityToken")
    der = bytearray(base64.b64decode(token.text))
    version = der.index(bytes([0xA0, 0x03, 0x02, 0x01, 0x02]))  # [0] EXPLICIT INTEGER 2 (= v3)
    der[version + 4] = 0x03
    token.text = base64.b64encode(bytes(der)).decode()


def _relative_namespace(env: Any, hub: Hub) -> None:
    """SignedInfo holds an element in a relative namespace: libxml2 cannot canonicalise it (C14NError)."""
    etree.SubElement(env.find(f".//{{{DS}}}SignedInfo"), "{relative}x", nsmap={"r": "relative"})


AFTER_SIGNING: dict[str, Callable[[Any, Hub], None]] = {
    "tamper": _tamper,
    "refs32": _refs32,
    "wrap_body": _wrap_body,
    "second_security": _second_security,
    "duplicate_id": _duplicate_id,
    "xml_id": _xml_id,
    "token_bad_version": _token_bad_version,
    "relative_namespace": _relative_namespace,
}


def _flip_s(signed: bytes) -> bytes:
    """The same ECDSA signature with s replaced by n − s: still valid, different bytes."""
    env = etree.fromstring(signed)
    value = env.find(f".//{{{DS}}}SignatureValue")
    raw = base64.b64decode(value.text)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    value.text = base64.b64encode(r.to_bytes(32, "big") + (P256_ORDER - s).to_bytes(32, "big")).decode()
    return bytes(etree.tostring(env))


def _sha1_signed(hub: Hub, folder: str, operation: str) -> bytes:
    """What an old peer's python-xmlsec stack sends: RSA-SHA256 over SHA-1 reference digests."""
    xmlsec = pytest.importorskip("xmlsec", reason="python-xmlsec signs the SHA-1 message an old peer sends")
    from zeep.wsse.signature import BinarySignature
    from zeep.wsse.utils import WSU as WSU_MAKER
    from zeep.wsse.utils import get_security_header, get_timestamp

    env = etree.fromstring(
        f'<soap:Envelope xmlns:soap="{ENV}"><soap:Header/><soap:Body>{operation}</soap:Body></soap:Envelope>'.encode()
    )
    now = dt.datetime.now(dt.UTC)
    get_security_header(env).append(
        WSU_MAKER.Timestamp(
            WSU_MAKER.Created(get_timestamp(now, zulu_timestamp=True)),
            WSU_MAKER.Expires(get_timestamp(now + dt.timedelta(minutes=5), zulu_timestamp=True)),
        )
    )
    BinarySignature(
        str(hub.pki / folder / "key.pem"),
        str(hub.pki / folder / "cert.pem"),
        signature_method=xmlsec.constants.TransformRsaSha256,
        digest_method=xmlsec.constants.TransformSha1,
    ).apply(env, {})
    return bytes(etree.tostring(env))


# --- the run ---------------------------------------------------------------------------------------------


def _fill(template: str, hub: Hub) -> str:
    return template.replace("{ENP}", hub.persons[0].enp).replace("{REQUEST_ID}", str(uuid.uuid4()))


def _fill_any(template: str) -> str:
    return template.replace("{ENP}", "0").replace("{REQUEST_ID}", "0")


def _service(operation: str) -> str:
    namespace: str = etree.QName(etree.fromstring(_fill_any(operation).encode())).namespace
    return namespace.split(":")[4]  # urn:ru:rserz:soap:<service>:v1


def _request(case: Case, hub: Hub, send: Sender) -> requests.Response:
    """Build the case's request and send it; a replay case sends the first copy itself."""
    if case.generate == "huge":
        return send(b"<a>" + b"x" * (Limits().max_body_bytes + 1) + b"</a>")
    assert case.file is not None
    content = (CORPUS / case.file).read_bytes()
    if case.raw:
        return send(content)
    operation = _fill(content.decode("utf-8"), hub)
    if case.mutate == "sha1":
        return send(_sha1_signed(hub, case.sign, operation))
    env = etree.fromstring(
        f'<soap:Envelope xmlns:soap="{ENV}"><soap:Body>{operation}</soap:Body></soap:Envelope>'.encode()
    )
    if case.sign != "none":
        signing = SIGNING.get(case.mutate or "", Signing())
        sign_envelope(env, _keypair(hub, case.sign), now=signing.now, timestamp_ttl=signing.ttl)
    if case.mutate in AFTER_SIGNING:
        AFTER_SIGNING[case.mutate](env, hub)
    data = bytes(etree.tostring(env))
    if case.mutate in ("replay", "flip_s"):
        first = send(data)
        assert first.status_code == 200, first.text[:300]
        return send(_flip_s(data) if case.mutate == "flip_s" else data)
    return send(data)


def _counts(hub: Hub) -> dict[str, int]:
    if hub.soap is not None:
        hub.soap.journal.flush()
    with hub.engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in COUNTED}


ENDPOINTS = ("identification", "register", "attachment", "changes")


def _targets(case: Case) -> list[str]:
    """A case whose body names no operation (a whole hostile envelope, a generated one) is sent to every
    SOAP endpoint: the XML gate stands in front of each; an operation's case goes to its own service."""
    if case.service:
        return [case.service]
    if case.raw or case.file is None:
        return list(ENDPOINTS)
    return [_service((CORPUS / case.file).read_text())]


TARGETED = [(case, service) for case in CASES for service in _targets(case)]


@pytest.mark.parametrize(("case", "service"), TARGETED, ids=[f"{c.name} → {s}" for c, s in TARGETED])
def test_a_hostile_request_gets_its_coded_fault_and_changes_nothing(
    hub: Hub, case: Case, service: str
) -> None:

    def send(data: bytes) -> requests.Response:
        return requests.request(
            case.method,
            f"{hub.url}/soap/{service}",
            data=data,
            headers={"Content-Type": case.content_type},
            timeout=60,
        )

    before = _counts(hub)
    resp = _request(case, hub, send)
    assert resp.status_code == 500, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("text/xml")
    fault = etree.fromstring(resp.content)
    assert fault.findtext(f".//{{{CMN}}}CODE") == case.expect, resp.text[:500]
    # nothing echoed — in what the answer says (base64 of its signature and token may spell anything)
    said = " ".join(
        t
        for el in fault.iter()
        if isinstance(el.tag, str) and etree.QName(el).namespace not in (DS, WSSE)
        for t in (el.text,)
        if t
    )
    assert "passwd" not in said and "DROP" not in said.upper()
    assert _counts(hub) == before  # (the accepted first copy of a replay is a read: it changes nothing)
    assert requests.get(f"{hub.url}/healthz", timeout=10).status_code == 200
