"""Differential checking of our XMLDSig core against signxml and python-xmlsec (libxmlsec1).

Shared by the tests (tests/xmlsig/test_differential_*.py, a few hundred mutants) and by the large run
(``make fuzz``: bench/fuzz_xmlsig.py, 100,000 mutants). Three verifiers see the same bytes:

* ours — ``wsse.verify_envelope`` with the signer pinned (``authorize``), exactly what the gate runs
  before trust checks; its verdict is ``valid`` or the ``WsseError`` code;
* signxml — ``XMLVerifier.verify`` with the signer's certificate given out of band, any number of
  references (it has no WS-Security layer; "see what is signed" is left to its caller), SHA-1 reference
  digests allowed as in our core (the gate refuses them per signer, not the core);
* xmlsec — ``SignatureContext.verify`` with the certificate's key, every ``wsu:Id`` / ``Id``
  registered as an ID (as zeep's ``BinarySignature`` does for the Body and the Timestamp).

Seeds (tests/data/xmlsig-fuzz/seeds.toml) are SOAP operations signed by each of the three
implementations with RSA 2048/3072 and ECDSA P-256/P-384; a mutator changes one thing in a signed seed.
Where the verdicts differ, tests/data/xmlsig-differences.toml must say which side is right and why;
anything else is an unexplained difference, i.e. a bug to find.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import functools
import random
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.xmlsig.c14n import DS_NS, EXC_C14N
from rserz_soap.xmlsig.keys import KeyPair
from rserz_soap.xmlsig.wsse import (
    SOAP11_NS,
    WSSE_NS,
    WSU_NS,
    SignerPolicy,
    WsseError,
    sign_envelope,
    verify_envelope,
)

DATA = Path(__file__).resolve().parents[1] / "data"
SEEDS_FILE = DATA / "xmlsig-fuzz" / "seeds.toml"
DIFFERENCES_FILE = DATA / "xmlsig-differences.toml"

ENV = SOAP11_NS
WSU_ID = f"{{{WSU_NS}}}Id"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
    ),
}
# The moment every seed is signed at and verified at: verdicts do not depend on the wall clock.
SIGNING_TIME = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def ds(name: str) -> str:
    return f"{{{DS_NS}}}{name}"


def wsse(name: str) -> str:
    return f"{{{WSSE_NS}}}{name}"


def wsu(name: str) -> str:
    return f"{{{WSU_NS}}}{name}"


def parse(data: bytes) -> Any:
    return etree.fromstring(data, _PARSER)


# --- keys ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    """A key with a self-issued certificate (validity around SIGNING_TIME), in the forms each library wants."""

    kind: str
    keypair: KeyPair
    key_pem: bytes
    cert_pem: bytes

    @property
    def private_key(self) -> Any:
        return self.keypair.private_key

    @property
    def certificate(self) -> x509.Certificate:
        return self.keypair.certificate


KEY_KINDS = ("rsa2048", "rsa3072", "p256", "p384")


@functools.cache
def signer(kind: str) -> Signer:
    key: Any
    if kind.startswith("rsa"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    else:
        key = ec.generate_private_key({"p256": ec.SECP256R1(), "p384": ec.SECP384R1()}[kind])
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"fuzz {kind}")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(SIGNING_TIME - dt.timedelta(days=1))
        .not_valid_after(SIGNING_TIME + dt.timedelta(days=3650))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Signer(
        kind,
        KeyPair(key, certificate, der),
        key_pem,
        certificate.public_bytes(serialization.Encoding.PEM),
    )


# --- seeds -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedSpec:
    name: str
    signer: str  # ours | xmlsec | signxml
    key: str  # one of KEY_KINDS
    message: str  # path under tests/data of the operation element (or a file with a bare operation)
    pretty: bool = False  # an indented envelope: whitespace text nodes everywhere
    digest: str = "sha256"  # xmlsec only: "sha1" is what an old peer's stack sends
    method: str = ""  # xmlsec only: "rsa-sha1" (zeep's default); empty: SHA-256 for the key's type
    sign_timestamp: bool = True  # xmlsec only: false adds the Timestamp after signing the Body


@dataclass(frozen=True)
class Seed:
    spec: SeedSpec
    data: bytes  # the signed envelope as sent
    signer: Signer

    @property
    def name(self) -> str:
        return self.spec.name


def seed_specs() -> list[SeedSpec]:
    loaded = tomllib.loads(SEEDS_FILE.read_text(encoding="utf-8"))
    return [SeedSpec(**item) for item in loaded["seed"]]


def envelope_for(message: str, *, pretty: bool = False) -> Any:
    operation = etree.parse(str(DATA / message), _PARSER).getroot()
    if pretty:
        text = (
            f'<soap:Envelope xmlns:soap="{ENV}">\n  <soap:Header>\n  </soap:Header>\n'
            "  <soap:Body>\n  </soap:Body>\n</soap:Envelope>"
        )
    else:
        text = f'<soap:Envelope xmlns:soap="{ENV}"><soap:Header/><soap:Body/></soap:Envelope>'
    envelope = parse(text.encode())
    body = envelope.find(f"{{{ENV}}}Body")
    body.append(copy.deepcopy(operation))
    return envelope


def make_seed(spec: SeedSpec) -> Seed:
    key = signer(spec.key)
    envelope = envelope_for(spec.message, pretty=spec.pretty)
    SEED_SIGNERS[spec.signer](envelope, key, spec)
    return Seed(spec, bytes(etree.tostring(envelope)), key)


@functools.cache
def all_seeds() -> tuple[Seed, ...]:
    return tuple(make_seed(spec) for spec in seed_specs())


def _timestamp(envelope: Any, ttl: int = 300) -> Any:
    """A wsu:Timestamp in a wsse:Security header of ``envelope`` (created if needed), as zeep builds it."""
    header = envelope.find(f"{{{ENV}}}Header")
    security = header.find(wsse("Security"))
    if security is None:
        security = etree.SubElement(header, wsse("Security"), nsmap={"wsse": WSSE_NS})
        security.set(f"{{{ENV}}}mustUnderstand", "1")
    timestamp = etree.SubElement(security, wsu("Timestamp"), nsmap={"wsu": WSU_NS})
    timestamp.set(WSU_ID, "TS-seed")
    etree.SubElement(timestamp, wsu("Created")).text = SIGNING_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    expires = SIGNING_TIME + dt.timedelta(seconds=ttl)
    etree.SubElement(timestamp, wsu("Expires")).text = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    return timestamp


def _sign_ours(envelope: Any, key: Signer, spec: SeedSpec) -> None:
    sign_envelope(envelope, key.keypair, now=SIGNING_TIME)


def _sign_xmlsec(envelope: Any, key: Signer, spec: SeedSpec) -> None:
    """zeep's ``BinarySignature`` over libxmlsec1: what a Python СМО client sends."""
    import xmlsec
    from zeep.wsse.signature import _sign_envelope_with_key_binary

    constants = xmlsec.constants
    if spec.sign_timestamp:
        _timestamp(envelope)
    method = {
        "rsa-sha1": constants.TransformRsaSha1,
        "": constants.TransformRsaSha256 if key.kind.startswith("rsa") else constants.TransformEcdsaSha256,
    }[spec.method]
    digest = {"sha256": constants.TransformSha256, "sha1": constants.TransformSha1}[spec.digest]
    xkey = xmlsec.Key.from_memory(key.key_pem, constants.KeyDataFormatPem, None)
    xkey.load_cert_from_memory(key.cert_pem, constants.KeyDataFormatPem)
    _sign_envelope_with_key_binary(envelope, xkey, method, digest)
    if not spec.sign_timestamp:
        security = envelope.find(f".//{wsse('Security')}")
        security.insert(0, _timestamp(envelope))


def _sign_signxml(envelope: Any, key: Signer, spec: SeedSpec) -> None:
    """signxml's detached signature over Body and Timestamp, put into wsse:Security (KeyInfo: X509Data)."""
    from signxml.algorithms import CanonicalizationMethod, SignatureConstructionMethod
    from signxml.signer import SignatureReference, XMLSigner

    timestamp = _timestamp(envelope)
    body = envelope.find(f"{{{ENV}}}Body")
    body.set(WSU_ID, "Body-seed")
    algorithm = "rsa-sha256" if key.kind.startswith("rsa") else "ecdsa-sha256"
    signer_ = XMLSigner(
        method=SignatureConstructionMethod.detached,
        signature_algorithm=algorithm,
        digest_algorithm="sha256",
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signature = signer_.sign(
        envelope,
        key=key.key_pem,
        cert=key.cert_pem.decode(),
        # What WSS4J sends: an InclusiveNamespaces PrefixList naming the SOAP prefix on the Body reference.
        reference_uri=[
            SignatureReference("#Body-seed", inclusive_ns_prefixes=["soap"]),
            SignatureReference("#TS-seed"),
        ],
    )
    timestamp.getparent().append(signature)


SEED_SIGNERS: dict[str, Callable[[Any, Signer, SeedSpec], None]] = {
    "ours": _sign_ours,
    "xmlsec": _sign_xmlsec,
    "signxml": _sign_signxml,
}


# --- the three verifiers -----------------------------------------------------------------------------------


def verdict_ours(data: bytes, key: Signer) -> str:
    """``valid`` or the WsseError code our gate would journal (before its trust and replay checks)."""
    expected = key.keypair.certificate_sha256

    def authorize(certificate: x509.Certificate) -> SignerPolicy:
        if certificate.public_bytes(serialization.Encoding.DER) != key.keypair.certificate_der:
            raise WsseError("unexpected_signer", f"not {expected}")
        return SignerPolicy()

    try:
        envelope = parse(data)
    except etree.XMLSyntaxError:
        return "unparsable"
    try:
        verify_envelope(envelope, now=SIGNING_TIME, authorize=authorize)
    except WsseError as exc:
        return exc.code
    except Exception as exc:  # noqa: BLE001  # a crash is a verdict no difference explains: a bug
        return f"crash:{type(exc).__name__}"
    return "valid"


def verdict_signxml(data: bytes, key: Signer) -> str:
    from signxml.algorithms import DigestAlgorithm
    from signxml.verifier import SignatureConfiguration, XMLVerifier

    # SHA-1 *digests* allowed, as in our core (refusing them is the gate's per-signer policy, SignerPolicy),
    # so that signxml is compared on everything else; SHA-1 signature methods stay refused, as by us.
    config = SignatureConfiguration(
        expect_references=True,
        verification_time=SIGNING_TIME,
        digest_algorithms=frozenset(DigestAlgorithm),
    )
    try:
        XMLVerifier().verify(data, x509_cert=key.certificate, expect_config=config)
    except Exception as exc:  # noqa: BLE001  # every refusal is a verdict; its class is recorded
        return f"invalid:{type(exc).__name__}"
    return "valid"


def verdict_xmlsec(data: bytes, key: Signer) -> str:
    import xmlsec

    try:
        root = parse(data)
    except etree.XMLSyntaxError:
        return "invalid:unparsable"
    signature = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
    if signature is None:
        return "invalid:no-signature"
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(key.cert_pem, xmlsec.constants.KeyDataFormatCertPem, None)
    try:
        for element in root.iter(etree.Element):
            if element.get(WSU_ID) is not None:
                context.register_id(element, "Id", WSU_NS)
            if element.get("Id") is not None:
                context.register_id(element, "Id")
        context.verify(signature)
    except xmlsec.Error as exc:
        return f"invalid:{type(exc).__name__}"
    return "valid"


@dataclass(frozen=True)
class Verdicts:
    ours: str
    signxml: str
    xmlsec: str

    @property
    def agree(self) -> bool:
        ours_ok = self.ours == "valid"
        return ours_ok == (self.signxml == "valid") == (self.xmlsec == "valid")


def verdicts(data: bytes, key: Signer) -> Verdicts:
    return Verdicts(verdict_ours(data, key), verdict_signxml(data, key), verdict_xmlsec(data, key))


# --- accepted differences ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """A known, reasoned disagreement: ``ours`` codes × the other two verdicts (``valid``/``invalid``/``*``),
    optionally only for some mutations."""

    id: str
    ours: tuple[str, ...]
    signxml: str
    xmlsec: str
    reason: str
    mutations: tuple[str, ...] = ()
    seeds: tuple[str, ...] = ()

    def matches(self, seed: str, mutation: str, found: Verdicts) -> bool:
        def side(expected: str, verdict: str) -> bool:
            return expected == "*" or expected == ("valid" if verdict == "valid" else "invalid")

        return (
            found.ours in self.ours
            and side(self.signxml, found.signxml)
            and side(self.xmlsec, found.xmlsec)
            and (not self.mutations or mutation in self.mutations)
            and (not self.seeds or seed in self.seeds)
        )


@functools.cache
def differences() -> tuple[Difference, ...]:
    loaded = tomllib.loads(DIFFERENCES_FILE.read_text(encoding="utf-8"))
    return tuple(
        Difference(
            id=item["id"],
            ours=tuple(item["ours"]),
            signxml=item["signxml"],
            xmlsec=item["xmlsec"],
            reason=item["reason"],
            mutations=tuple(item.get("mutations", ())),
            seeds=tuple(item.get("seeds", ())),
        )
        for item in loaded["difference"]
    )


def explain(seed: str, mutation: str, found: Verdicts) -> Difference | None:
    return next((d for d in differences() if d.matches(seed, mutation, found)), None)


# --- the mutator -----------------------------------------------------------------------------------------


class Skip(Exception):  # not an error: this mutation does not apply to this seed
    pass


def _signature(env: Any) -> Any:
    found = env.find(f".//{ds('Signature')}")
    if found is None:
        raise Skip("no signature")
    return found


def _security(env: Any) -> Any:
    return _signature(env).getparent()


def _body(env: Any) -> Any:
    return env.find(f"{{{ENV}}}Body")


def _timestamp_of(env: Any) -> Any:
    found = env.find(f".//{wsu('Timestamp')}")
    if found is None:
        raise Skip("no timestamp")
    return found


def _elements(root: Any) -> list[Any]:
    return list(root.iter(etree.Element))


def _pick(rng: random.Random, items: list[Any]) -> Any:
    if not items:
        raise Skip("nothing to pick")
    return items[rng.randrange(len(items))]


def _change_text(rng: random.Random, element_root: Any) -> None:
    """One character of one text node (or tail) under ``element_root`` changed, inserted or deleted."""
    slots = [(e, "text") for e in _elements(element_root) if e.text] + [
        (e, "tail") for e in _elements(element_root)[1:] if e.tail
    ]
    if not slots:
        target = _pick(rng, _elements(element_root))
        target.text = (target.text or "") + "x"
        return
    element, attr = _pick(rng, slots)
    value: str = getattr(element, attr)
    i = rng.randrange(len(value))
    choice = rng.randrange(4)
    replacement = rng.choice(["0", "9", "A", " ", "\t", "&", "<", "\r", "Я", "\u00a0"])
    if choice == 0:
        value = value[:i] + value[i + 1 :]
    elif choice == 1:
        value = value[:i] + replacement + value[i:]
    else:
        if value[i] == replacement:
            replacement = "1" if replacement != "1" else "2"
        value = value[:i] + replacement + value[i + 1 :]
    setattr(element, attr, value)


def m_body_byte(env: Any, rng: random.Random) -> None:
    _change_text(rng, _body(env))


def m_timestamp_byte(env: Any, rng: random.Random) -> None:
    timestamp = _timestamp_of(env)
    field_ = _pick(rng, list(timestamp))
    text = field_.text or ""
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    if digits and rng.random() < 0.8:  # a still well-formed time, moved by a digit
        i = _pick(rng, digits)
        new = str((int(text[i]) + rng.randrange(1, 10)) % 10)
        field_.text = text[:i] + new + text[i + 1 :]
    else:
        _change_text(rng, timestamp)


def m_attribute(env: Any, rng: random.Random) -> None:
    """Add, change or remove an attribute of an element of the Body, the Timestamp, SignedInfo or the Header."""
    zone = rng.choice([_body(env), _timestamp_of(env), _signature(env)[0], env])
    element = _pick(rng, _elements(zone))
    names = [n for n in element.attrib if n not in (WSU_ID, "Id", "URI", "Algorithm")]
    action = rng.randrange(3)
    if action == 0 or not names:
        element.set(
            rng.choice(["extra", "{urn:x}extra", "N_ZAP", "{urn:x}a"]), rng.choice(["1", "", "a\tb", "<&>"])
        )
    elif action == 1:
        element.set(_pick(rng, names), rng.choice(["2", " ", "x\ny"]))
    else:
        del element.attrib[_pick(rng, names)]


def m_namespace(env: Any, rng: random.Random) -> None:
    """A namespace declaration added, renamed or re-bound (prefix changed under the same URI)."""
    zone = rng.choice([_body(env), _timestamp_of(env), _signature(env)[0], env])
    element = _pick(rng, _elements(zone))
    action = rng.randrange(4)
    if action == 3:  # a declaration with a relative URI, used by a new child (deprecated by Namespaces 1.0)
        uri = rng.choice(["relative", "../up", "urn:absolute"])
        etree.SubElement(element, f"{{{uri}}}x", nsmap={"r": uri})
        return
    if action == 0:  # an unused declaration: exclusive c14n ignores it, so every verifier still accepts
        new = etree.Element(
            element.tag,
            # libxml2's c14n refuses a relative namespace URI (C14NError): a verdict, never a crash
            nsmap={**element.nsmap, "unused": rng.choice(["urn:unused", "urn:unused", "relative/uri"])},
            attrib=element.attrib,
        )
    elif action == 1:  # the element's own prefix renamed (same namespace): exc-c14n output changes
        namespace = etree.QName(element).namespace
        if namespace is None:
            raise Skip("element in no namespace")
        nsmap = {p: u for p, u in element.nsmap.items() if u != namespace}
        nsmap[rng.choice(["p0", None, "zz"])] = namespace
        new = etree.Element(element.tag, nsmap=nsmap, attrib=element.attrib)
    else:  # the default namespace bound on an ancestor of the element
        nsmap = {**element.nsmap, None: rng.choice(["urn:default", WSSE_NS, "", "default"])}
        if nsmap[None] == "":
            del nsmap[None]
        new = etree.Element(element.tag, nsmap=nsmap, attrib=element.attrib)
    new.text, new.tail = element.text, element.tail
    new.extend(list(element))
    parent = element.getparent()
    if parent is None:
        raise Skip("the root")
    parent.replace(element, new)


def m_element_order(env: Any, rng: random.Random) -> None:
    zone = rng.choice([_body(env), _timestamp_of(env), _signature(env)[0], _security(env), _signature(env)])
    parents = [e for e in _elements(zone) if len(e) >= 2]
    parent = _pick(rng, parents)
    i, j = rng.sample(range(len(parent)), 2)
    a, b = parent[i], parent[j]
    placeholder = etree.Element("placeholder")
    parent.replace(a, placeholder)
    parent.replace(b, a)
    parent.replace(placeholder, b)


def m_id(env: Any, rng: random.Random) -> None:
    """Ids: duplicated, moved, turned into xml:id or a bare Id, or a wrapper carrying the signed original."""
    body = _body(env)
    target = rng.choice([body, _timestamp_of(env)])
    value = target.get(WSU_ID) or target.get("Id")
    if value is None:
        raise Skip("target without Id")
    action = rng.randrange(6)
    header = env.find(f"{{{ENV}}}Header")
    if action == 0:  # a second element with the same wsu:Id
        decoy = etree.SubElement(header, "{urn:attacker}Decoy")
        decoy.set(WSU_ID, value)
    elif action == 1:  # the same value as xml:id elsewhere
        decoy = etree.SubElement(header, "{urn:attacker}Decoy")
        decoy.set(XML_ID, value)
    elif action == 2:  # the Id moved to another element
        for name in (WSU_ID, "Id"):
            target.attrib.pop(name, None)
        _pick(rng, [e for e in _elements(env) if e is not target and e.getparent() is not None]).set(
            WSU_ID, value
        )
    elif action == 3:  # wsu:Id replaced by xml:id / a bare Id (same value)
        for name in (WSU_ID, "Id"):
            target.attrib.pop(name, None)
        target.set(rng.choice([XML_ID, "Id", "ID", "{urn:x}Id"]), value)
    elif action == 4:  # signature wrapping: the signed original kept in a header wrapper, a new one in place
        wrapper = etree.SubElement(header, "{urn:attacker}Wrapper")
        wrapper.append(copy.deepcopy(target))
        fake = copy.deepcopy(target)
        for name in (WSU_ID, "Id"):
            fake.attrib.pop(name, None)
        _change_text(rng, fake)
        target.getparent().replace(target, fake)
    else:  # the whole signed original duplicated
        header.append(copy.deepcopy(target))


def _references(env: Any) -> list[Any]:
    return list(_signature(env)[0].findall(ds("Reference")))


def m_reference_uri(env: Any, rng: random.Random) -> None:
    references = _references(env)
    reference = _pick(rng, references)
    uri = reference.get("URI") or ""
    options = [
        "",
        "#",
        uri[1:],
        uri + "x",
        "#xpointer(/)",
        f"#xpointer(id('{uri[1:]}'))",
        uri.upper(),
        " " + uri,
    ]
    token = env.find(f".//{wsse('BinarySecurityToken')}")
    if token is not None and token.get(WSU_ID):
        options.append("#" + token.get(WSU_ID))
    others = [r.get("URI") for r in references if r is not reference]
    options.extend(others)  # two references to one element, the other one unsigned
    choice = _pick(rng, options)
    if rng.random() < 0.1:
        del reference.attrib["URI"]
    else:
        reference.set("URI", choice)


ALGORITHMS = [
    EXC_C14N,
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2000/09/xmldsig#base64",
    "http://www.w3.org/TR/1999/REC-xpath-19991116",
    "http://www.w3.org/2000/09/xmldsig#sha1",
    "http://www.w3.org/2001/04/xmlenc#sha512",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
    "urn://smev-gov-ru/xmldsig/transform",
    "http://www.w3.org/2001/04/xmlenc#sha256 ",
    "urn:unknown",
    "",
]


def m_algorithm(env: Any, rng: random.Random) -> None:
    """A CanonicalizationMethod, SignatureMethod, DigestMethod or Transform URI changed, or a transform added
    or removed."""
    signed_info = _signature(env)[0]
    action = rng.randrange(5)
    if action == 3:  # a transform added
        transforms = _pick(rng, signed_info.findall(f".//{ds('Transforms')}"))
        etree.SubElement(transforms, ds("Transform"), Algorithm=rng.choice(ALGORITHMS))
        if rng.random() < 0.5:
            transforms.insert(0, transforms[-1])
        return
    if action == 4:  # a transform (or the whole ds:Transforms) removed
        transforms = _pick(rng, signed_info.findall(f".//{ds('Transforms')}"))
        victim = transforms if rng.random() < 0.5 else transforms[0]
        victim.getparent().remove(victim)
        return
    holders = [e for e in signed_info.iter(etree.Element) if e.get("Algorithm") is not None]
    element = _pick(rng, holders)
    element.set("Algorithm", rng.choice(ALGORITHMS))


def _signature_bytes(env: Any) -> tuple[Any, bytes]:
    element = _signature(env).find(ds("SignatureValue"))
    return element, base64.b64decode("".join((element.text or "").split()))


def m_signature_value(env: Any, rng: random.Random, key: Signer) -> None:
    element, raw = _signature_bytes(env)
    action = rng.randrange(7)
    if action == 0 and key.kind.startswith("p"):  # ECDSA s -> n - s: the same signature, high s
        size = len(raw) // 2
        order = ORDERS[key.private_key.curve.name]
        r, s = raw[:size], int.from_bytes(raw[size:], "big")
        raw = r + (order - s).to_bytes(size, "big")
    elif action == 1 and key.kind.startswith("p"):  # r and s swapped
        size = len(raw) // 2
        raw = raw[size:] + raw[:size]
    elif action == 2:  # one bit flipped
        i = rng.randrange(len(raw))
        raw = raw[:i] + bytes([raw[i] ^ (1 << rng.randrange(8))]) + raw[i + 1 :]
    elif action == 3:  # truncated or extended
        raw = raw[:-1] if rng.random() < 0.5 else raw + b"\x00"
    elif action == 4:  # the same bytes, with line breaks (as Java stacks send)
        text = base64.b64encode(raw).decode()
        element.text = "\n".join(text[i : i + 64] for i in range(0, len(text), 64)) + "\n"
        return
    elif action == 5:  # not base64
        element.text = (element.text or "")[:-4] + rng.choice(["!!!!", "====", "", "A"])
        return
    else:  # leading zero byte / all zero
        raw = bytes(len(raw)) if rng.random() < 0.5 else b"\x00" + raw[1:]
    element.text = base64.b64encode(raw).decode()


def m_token(env: Any, rng: random.Random, key: Signer) -> None:
    """The certificate the message carries: another key's, corrupted, or the token's type changed."""
    token = env.find(f".//{wsse('BinarySecurityToken')}")
    inline = env.find(f".//{ds('X509Certificate')}")
    holder = token if token is not None else inline
    if holder is None:
        raise Skip("no certificate in the message")
    action = rng.randrange(4)
    if action == 0:
        other = signer(next(k for k in ("rsa2048", "p256") if k != key.kind))
        holder.text = base64.b64encode(other.keypair.certificate_der).decode()
    elif action == 1:
        der = base64.b64decode(holder.text)
        i = rng.randrange(len(der))
        holder.text = base64.b64encode(der[:i] + bytes([der[i] ^ 1]) + der[i + 1 :]).decode()
    elif action == 2 and token is not None:
        token.set("ValueType", rng.choice(["urn:x", token.get("ValueType", "") + "PKIPath"]))
    else:
        holder.text = ""


def m_key_info(env: Any, rng: random.Random, key: Signer) -> None:
    """The KeyInfo kind changed: token reference / inline X509Data / SKI / thumbprint / KeyValue / nothing."""
    signature = _signature(env)
    key_info = signature.find(ds("KeyInfo"))
    if key_info is None:
        raise Skip("no KeyInfo")
    for child in list(key_info):
        key_info.remove(child)
    action = rng.randrange(5)
    der = key.keypair.certificate_der
    if action == 0:
        data = etree.SubElement(key_info, ds("X509Data"))
        etree.SubElement(data, ds("X509Certificate")).text = base64.b64encode(der).decode()
    elif action == 1:
        ref = etree.SubElement(key_info, wsse("SecurityTokenReference"))
        ski = x509.SubjectKeyIdentifier.from_public_key(key.certificate.public_key()).digest
        ident = etree.SubElement(ref, wsse("KeyIdentifier"))
        ident.set(
            "ValueType",
            "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509SubjectKeyIdentifier",
        )
        ident.text = base64.b64encode(ski).decode()
    elif action == 2:
        ref = etree.SubElement(key_info, wsse("SecurityTokenReference"))
        etree.SubElement(ref, wsse("Reference"), URI="#nowhere")
    elif action == 3:
        signature.remove(key_info)
    # action 4: an empty ds:KeyInfo


def m_security_nesting(env: Any, rng: random.Random) -> None:
    security = _security(env)
    header = security.getparent()
    action = rng.randrange(5)
    if action == 0:  # a second Security header (a copy) first
        header.insert(0, copy.deepcopy(security))
    elif action == 1:  # the Security header nested inside another one
        outer = etree.Element(wsse("Security"), nsmap={"wsse": WSSE_NS})
        header.replace(security, outer)
        outer.append(security)
    elif action == 2:  # addressed to another actor
        security.set(f"{{{ENV}}}actor", "urn:someone-else")
    elif action == 3:  # the Signature moved out of Security into the Header
        signature = _signature(env)
        header.append(signature)
    else:  # the Timestamp moved out of Security
        header.append(_timestamp_of(env))


def m_whitespace(env: Any, rng: random.Random) -> None:
    zone = rng.choice([_signature(env)[0], _security(env), _body(env), _timestamp_of(env)])
    element = _pick(rng, _elements(zone))
    if rng.random() < 0.5:
        element.text = (element.text or "") + rng.choice([" ", "\n", "\r\n", "\t"])
    else:
        element.tail = (element.tail or "") + rng.choice([" ", "\n"])


def m_comment(env: Any, rng: random.Random) -> None:
    zone = rng.choice([_signature(env)[0], _security(env), _body(env), _timestamp_of(env)])
    element = _pick(rng, _elements(zone))
    element.insert(rng.randrange(len(element) + 1), etree.Comment(rng.choice([" c ", "", "-x"])))


def m_none(env: Any, rng: random.Random) -> None:
    """The seed as signed: every seed's own verdicts are part of each run."""


MUTATIONS: dict[str, Callable[..., None]] = {
    "none": m_none,
    "body_byte": m_body_byte,
    "timestamp_byte": m_timestamp_byte,
    "attribute": m_attribute,
    "namespace": m_namespace,
    "element_order": m_element_order,
    "id": m_id,
    "reference_uri": m_reference_uri,
    "algorithm": m_algorithm,
    "signature_value": m_signature_value,
    "token": m_token,
    "key_info": m_key_info,
    "security_nesting": m_security_nesting,
    "whitespace": m_whitespace,
    "comment": m_comment,
}
_NEEDS_KEY = {"signature_value", "token", "key_info"}


def mutate(seed: Seed, mutation: str, rng: random.Random) -> bytes:
    """``seed`` with one thing changed by ``mutation``; raises Skip where it does not apply."""
    env = parse(seed.data)
    function = MUTATIONS[mutation]
    if mutation in _NEEDS_KEY:
        function(env, rng, seed.signer)
    else:
        function(env, rng)
    return bytes(etree.tostring(env))


# --- a run ---------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    seed: str
    mutation: str
    rng_seed: int
    verdicts: Verdicts
    explained_by: str | None


@dataclass
class Tally:
    mutants: int = 0
    skipped: int = 0
    agreements: int = 0
    explained: Counter[str] = field(default_factory=Counter)
    by_mutation: Counter[str] = field(default_factory=Counter)
    unexplained: list[Outcome] = field(default_factory=list)
    ours_valid: int = 0  # mutants we accepted (all of them agreed-valid or explained)

    def add(self, outcome: Outcome) -> None:
        self.mutants += 1
        self.by_mutation[outcome.mutation] += 1
        if outcome.verdicts.ours == "valid":
            self.ours_valid += 1
        if outcome.verdicts.agree:
            self.agreements += 1
        elif outcome.explained_by is not None:
            self.explained[outcome.explained_by] += 1
        else:
            self.unexplained.append(outcome)


def run_one(seed: Seed, mutation: str, rng_seed: int) -> Outcome | None:
    try:
        data = mutate(seed, mutation, random.Random(rng_seed))
    except Skip:
        return None
    found = verdicts(data, seed.signer)
    difference = None if found.agree else explain(seed.name, mutation, found)
    return Outcome(seed.name, mutation, rng_seed, found, difference.id if difference else None)


def replay(seed_name: str, mutation: str, rng_seed: int) -> bytes:
    """The mutant an Outcome names, for debugging an unexplained difference."""
    seed = next(s for s in all_seeds() if s.name == seed_name)
    return mutate(seed, mutation, random.Random(rng_seed))
