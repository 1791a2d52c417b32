"""Create and verify XMLDSig signatures over same-document references (``URI="#id"``).

This is the one signature core: the SOAP server, every client, the emulators and WS-Security
(``wsse.py``) all go through ``sign`` and ``verify``. Algorithms, digests and transforms are looked up by
URI in ``algorithms.py`` and ``c14n.py``, so adding GOST or the СМЭВ transform is a registration, not an
edit here.

Signature wrapping. A valid signature proves that *some* element with the referenced Id had the signed
content; it says nothing about the element an application later finds by path. An attacker who keeps the
signed element somewhere harmless (a new header, a wrapper) and puts their own element where the
application looks passes a naive verifier. Two rules close that:

1. An Id must resolve to exactly one element in the whole document. Any attribute named ``Id``, ``ID``
   or ``id`` in any namespace (``wsu:Id``, ``xml:id`` …) counts, so a second element that some other
   Id-lookup would find is a ``duplicate_id`` error, not a coin toss.
2. ``verify`` returns the *elements* it checked (``VerifiedSignature.references``). Callers must use
   those objects — or check identity with ``VerifiedSignature.covers(element)`` — and never re-select
   the content by path or by Id afterwards. ``wsse.verify_envelope`` does exactly that for the Body.

SignedInfo is canonicalised from the parsed tree exactly as received. Parse incoming XML without
``remove_blank_text`` and never pretty-print a signed document: whitespace inside SignedInfo is part of
what was signed.

Order of work when verifying: everything that needs no cryptography (structure, algorithm URIs, Id
resolution) first, then the SignatureValue over SignedInfo, then the reference digests — so a forged
message costs one public-key operation, and an attacker-chosen huge Body is hashed only under a SignedInfo
that verified.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from lxml import etree  # type: ignore[import-untyped, unused-ignore]  # lxml ships no stubs

from rserz_soap.xmlsig.algorithms import (
    SHA256,
    DigestAlgorithm,
    SignatureAlgorithm,
    UnknownAlgorithm,
    get_digest,
    get_signature_algorithm,
    signature_algorithm_for_key,
)
from rserz_soap.xmlsig.c14n import (
    C14N_METHODS,
    DS_NS,
    ENVELOPED_SIGNATURE,
    EXC_C14N,
    SplicedC14N,
    TransformError,
    UnsupportedTransform,
    apply_transforms,
    canonicalize,
    exclusive_c14n,
    get_transform,
    inclusive_prefixes,
    is_builtin_transform,
)

__all__ = [
    "DS_NS",
    "MAX_REFERENCES",
    "MAX_TRANSFORMS",
    "IdIndex",
    "Reference",
    "SignatureError",
    "SignatureTemplate",
    "VerifiedReference",
    "VerifiedSignature",
    "element_id",
    "resolve_id",
    "sign",
    "simple_content",
    "verify",
]

# Named limits: a SignedInfo is small and fixed in shape; anything bigger is an attempt to make us work.
MAX_REFERENCES: Final = 32  # WS-Security signs Body, Timestamp and perhaps a few WS-Addressing headers
MAX_TRANSFORMS: Final = 4  # enveloped + c14n + (СМЭВ) is the longest legitimate chain

_WSU_ID: Final = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}Id"
_XML_ID: Final = "{http://www.w3.org/XML/1998/namespace}id"
# Where an existing Id is looked for when an element is passed to ``sign`` (first match wins).
_ID_ATTRIBUTES: Final = (_WSU_ID, "Id", "ID", "id", _XML_ID)
# Every attribute with the value, then filtered by name in Python: 3-4x faster than testing local-name()
# of every attribute in XPath, and the value rarely occurs more than once.
_ATTRIBUTES_WITH_VALUE: Final = etree.XPath("//@*[. = $value]")
_ID_LOCAL_NAMES: Final = frozenset({"Id", "ID", "id"})
# Every Id-like attribute of the document, for an index made in one pass (``IdIndex``).
_ID_ATTRIBUTES_ANYWHERE: Final = etree.XPath(
    "//@*[local-name() = 'Id' or local-name() = 'ID' or local-name() = 'id']"
)


def _ds(name: str) -> str:
    return f"{{{DS_NS}}}{name}"


class SignatureError(Exception):
    """Why a signature was refused, with a machine-readable ``code`` for the exchange journal and faults.

    ``malformed``: the ds:Signature does not have the XMLDSig shape (or an unsupported reference URI);
    ``unsupported_algorithm``: a c14n, transform, digest or signature URI is not registered;
    ``reference_not_found``: no element carries the referenced Id;
    ``duplicate_id``: more than one element carries it (the signature wrapping attack);
    ``digest_mismatch``: a referenced element changed after signing;
    ``bad_signature``: the SignatureValue does not verify with the given key (or the key cannot match).
    """

    codes: ClassVar[frozenset[str]] = frozenset(
        {
            "malformed",
            "unsupported_algorithm",
            "reference_not_found",
            "duplicate_id",
            "digest_mismatch",
            "bad_signature",
        }
    )

    def __init__(self, code: str, message: str) -> None:
        if code not in self.codes:
            raise ValueError(f"unknown {type(self).__name__} code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Reference:
    """What to sign: an element (given an Id if it has none) or the Id of one, and its transform chain."""

    target: Any  # an lxml element of the document, or an Id value (without "#")
    transforms: tuple[str, ...] = (EXC_C14N,)
    # Attribute created when ``target`` is an element without any Id; wsse passes wsu:Id.
    id_attribute: str = "Id"


@dataclass(frozen=True)
class VerifiedReference:
    id: str
    element: Any  # the very element whose digest matched: use this object, do not look it up again
    digest_algorithm: str
    transforms: tuple[str, ...]


@dataclass(frozen=True)
class VerifiedSignature:
    """The outcome of ``verify``: what is proven, as elements, not as paths or Ids."""

    references: tuple[VerifiedReference, ...]
    algorithm: str
    signature_value: bytes
    #: SHA-256 of the canonical SignedInfo: what was signed. A replay cache keys on this, not on the
    #: SignatureValue, which a signer (or anyone, for ECDSA: s → n−s) can vary without changing what it says.
    signed_info_digest: bytes = b""

    @property
    def referenced_ids(self) -> tuple[str, ...]:
        return tuple(ref.id for ref in self.references)

    @property
    def elements(self) -> tuple[Any, ...]:
        return tuple(ref.element for ref in self.references)

    def covers(self, element: Any) -> bool:
        """True only if this exact element object (not an equal one elsewhere) was verified."""
        return any(ref.element is element for ref in self.references)


# --- ids ------------------------------------------------------------------------------------------------


def element_id(element: Any) -> str | None:
    """The Id an element already carries under one of the usual attribute names, if any."""
    for name in _ID_ATTRIBUTES:
        value = element.get(name)
        if value:
            return str(value)
    return None


def resolve_id(document: Any, value: str) -> Any:
    """The one element of ``document`` (any node of the tree) with this Id; see the wrapping rule 1."""
    found = [
        attribute.getparent()
        for attribute in _ATTRIBUTES_WITH_VALUE(document, value=value)
        if etree.QName(attribute.attrname).localname in _ID_LOCAL_NAMES
    ]
    return _one(found, value)


def _one(found: Sequence[Any], value: str) -> Any:
    if not found:
        raise SignatureError("reference_not_found", f"no element has Id {value!r}")
    if len(found) > 1:
        raise SignatureError("duplicate_id", f"{len(found)} elements have Id {value!r}")
    return found[0]


class IdIndex:
    """Every element of a document by its Id values (any ``Id``, ``ID`` or ``id`` attribute in any
    namespace), made in one pass: several lookups in one document (a signature's references and its
    token) cost one walk instead of one XPath each. ``resolve`` answers exactly as ``resolve_id`` —
    the same errors for a missing or a duplicated Id — for the document as it was when indexed: index
    again after adding or changing Ids."""

    def __init__(self, document: Any) -> None:
        self.root = document.getroottree().getroot()
        index: dict[str, list[Any]] = {}
        for attribute in _ID_ATTRIBUTES_ANYWHERE(document):
            index.setdefault(str(attribute), []).append(attribute.getparent())
        self._index = index

    def resolve(self, value: str) -> Any:
        return _one(self._index.get(value, ()), value)

    def covers(self, document: Any) -> bool:
        """True if ``document`` is (a node of) the tree this index was made of."""
        return document.getroottree().getroot() is self.root


# --- signing --------------------------------------------------------------------------------------------


def sign(
    document_root: Any,
    references: Sequence[Reference],
    key: object,
    *,
    signature_parent: Any,
    key_info: Any | None = None,
    algorithm: str | None = None,
    digest: str | None = None,
    c14n_method: str = EXC_C14N,
    signature_id: str | None = None,
) -> Any:
    """Append a ds:Signature over ``references`` to ``signature_parent`` and return it.

    ``algorithm`` defaults to the first registered one that accepts ``key``; ``digest`` to the one that
    signature method goes with (its ``digest`` attribute: Streebog for GOST), SHA-256 otherwise. ``key_info`` is used as the
    ds:KeyInfo if it is one, otherwise wrapped in a new ds:KeyInfo (wsse passes a
    wsse:SecurityTokenReference). The document is left unchanged if signing fails, except for Id
    attributes given to referenced elements.
    """
    if not references:
        raise ValueError("nothing to sign: no references")
    if len(references) > MAX_REFERENCES:
        raise ValueError(f"at most {MAX_REFERENCES} references are verified by peers; got {len(references)}")
    if signature_parent.getroottree().getroot() is not document_root.getroottree().getroot():
        raise ValueError("signature_parent is not in the signed document")
    signature_algorithm = _signing_algorithm(algorithm, key)
    companion: str = getattr(signature_algorithm, "digest", SHA256) or SHA256
    digest_algorithm = _lookup_digest(digest or companion)
    if not digest_algorithm.for_signing:
        raise ValueError(f"{digest} is accepted from old peers but never used to sign")
    if c14n_method not in C14N_METHODS:
        raise SignatureError("unsupported_algorithm", f"canonicalization {c14n_method}")
    for ref in references:
        for uri in ref.transforms:
            _lookup_transform(uri)

    targets = _target_elements(document_root, references)

    signature = etree.SubElement(signature_parent, _ds("Signature"), nsmap={"ds": DS_NS})
    try:
        if signature_id is not None:
            signature.set("Id", signature_id)
        signed_info = etree.SubElement(signature, _ds("SignedInfo"))
        etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=c14n_method)
        etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=signature_algorithm.uri)
        digest_slots = []
        for ref, (ref_id, element) in zip(references, targets, strict=True):
            _check_placement(element, signature, ref)
            reference = etree.SubElement(signed_info, _ds("Reference"), URI=f"#{ref_id}")
            steps: list[tuple[str, Any]] = []
            if ref.transforms:
                transforms = etree.SubElement(reference, _ds("Transforms"))
                for uri in ref.transforms:
                    steps.append((uri, etree.SubElement(transforms, _ds("Transform"), Algorithm=uri)))
            etree.SubElement(reference, _ds("DigestMethod"), Algorithm=digest_algorithm.uri)
            digest_slots.append((etree.SubElement(reference, _ds("DigestValue")), element, steps))
        signature_value = etree.SubElement(signature, _ds("SignatureValue"))
        if key_info is not None:
            if key_info.tag == _ds("KeyInfo"):
                signature.append(key_info)
            else:
                etree.SubElement(signature, _ds("KeyInfo")).append(key_info)
        # Digests only once every Id exists and the Signature sits where it will be sent.
        for slot, element, steps in digest_slots:
            slot.text = _b64(digest_algorithm.digest(_transformed(element, steps, signature)))
        signed_octets = canonicalize(signed_info, c14n_method)
        signature_value.text = _b64(signature_algorithm.sign(key, signed_octets))
    except BaseException:
        signature_parent.remove(signature)
        raise
    return signature


class SignatureTemplate:
    """The shape of a ds:Signature that ``sign`` made, for signing more documents of that same shape cheaply.

    ``sign`` resolves algorithms, builds SignedInfo element by element and indexes every Id of the
    document; a signer that signs thousands of documents alike (the hub's answers, ``wsse``) does that
    once: it keeps the Signature ``sign`` made, and for each new document signs a copy of it
    (``copy.deepcopy`` of the Signature or of an ancestor) whose references it points at the new
    elements. Only Ids, DigestValues and the SignatureValue differ between the copies, so there is one
    builder of the structure — ``sign`` — and this class only reads it (once, here) and refills it.

    With exclusive c14n as the canonicalisation method (``sign``'s default) the canonical SignedInfo of a
    copy is the template's with the URIs and digests spliced in (``c14n.SplicedC14N``: the octets around
    them come from ``exclusive_c14n`` itself, checked once against it); otherwise, or for an Id that
    canonical XML would escape, the copy's SignedInfo is canonicalised.

    What ``sign`` guarantees and a copy no longer checks by itself is the caller's to keep: every
    referenced Id resolves to exactly one element of the document (wrapping rule 1) and no reference
    holds its own Signature. ``reference_octets`` returns the octets it digests so that a caller which
    knows its document can check the first on them before anything is signed.
    """

    def __init__(self, signature: Any) -> None:
        """``signature``: a ds:Signature made by ``sign`` (read only; never changed or kept beyond this)."""
        if signature.tag != _ds("Signature") or len(signature) < 2:
            raise ValueError("not a ds:Signature made by sign")
        signed_info = signature[0]
        if signed_info.tag != _ds("SignedInfo") or signature[1].tag != _ds("SignatureValue"):
            raise ValueError("not a ds:Signature made by sign")
        self.c14n_method = str(signed_info[0].get("Algorithm"))
        self.algorithm = get_signature_algorithm(str(signed_info[1].get("Algorithm")))
        transforms: list[tuple[str, ...]] = []
        digests = set()
        for reference in signed_info[2:]:
            if reference.tag != _ds("Reference") or reference[-1].tag != _ds("DigestValue"):
                raise ValueError("not a ds:Signature made by sign")
            uris = tuple(str(t.get("Algorithm")) for t in reference[0]) if len(reference) == 3 else ()
            transforms.append(uris)
            digests.add(str(reference[-2].get("Algorithm")))
        if len(digests) != 1:
            raise ValueError("sign uses one digest method for every reference")
        self.digest = get_digest(digests.pop())
        self.transforms: tuple[tuple[str, ...], ...] = tuple(transforms)
        # References whose chain is exclusive c14n without parameters: their octets are exclusive_c14n's.
        self._exclusive_only = tuple(
            uris == (EXC_C14N,) and len(reference[0][0]) == 0 and is_builtin_transform(EXC_C14N)
            for uris, reference in zip(transforms, signed_info[2:], strict=True)
        )
        self._signed_info_c14n: SplicedC14N | None = None
        if self.c14n_method == EXC_C14N and inclusive_prefixes(signed_info[0]) is None:
            nodes = list(signed_info.iter())
            slots: list[tuple[int, str | None]] = []
            for reference in signed_info[2:]:
                slots += ((nodes.index(reference), "URI"), (nodes.index(reference[-1]), None))
            spliced = SplicedC14N(signed_info, slots)
            self._signed_info_c14n = spliced if spliced.octets is not None else None

    def reference_octets(self, signature: Any, index: int, element: Any) -> bytes:
        """What reference ``index`` of the copy ``signature`` digests when it points at ``element`` (its
        transform chain applied, with the copy's own ds:Transform elements as their parameters)."""
        if self._exclusive_only[index]:
            return exclusive_c14n(element)
        reference = signature[0][2 + index]
        uris = self.transforms[index]
        steps = list(zip(uris, reference[0], strict=True)) if uris else []
        return _transformed(element, steps, signature)

    def seal(self, signature: Any, ids: Sequence[str], octets: Sequence[bytes], key: object) -> None:
        """Point the copy's references at ``ids``, digest ``octets`` (``reference_octets`` of each, in
        order) and sign the copy's SignedInfo with ``key``."""
        if not len(ids) == len(octets) == len(self.transforms):
            raise ValueError(f"the template signs {len(self.transforms)} references")
        signed_info = signature[0]
        digest = self.digest.digest
        values: list[str] = []
        for reference, value, data in zip(signed_info[2:], ids, octets, strict=True):
            uri, digest_value = f"#{value}", _b64(digest(data))
            reference.set("URI", uri)
            reference[-1].text = digest_value
            values += (uri, digest_value)
        spliced = self._signed_info_c14n
        signed_octets = spliced.splice(values) if spliced is not None else None
        if signed_octets is None:  # not exclusive c14n, or an Id that c14n escapes
            signed_octets = canonicalize(signed_info, self.c14n_method)
        signature[1].text = _b64(self.algorithm.sign(key, signed_octets))

    def exclusive_only(self, index: int) -> bool:
        """True if reference ``index`` digests the plain ``exclusive_c14n`` of its element (no other
        transform, no PrefixList): a caller may then splice those octets too (``SplicedC14N``)."""
        return self._exclusive_only[index]


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _signing_algorithm(uri: str | None, key: object) -> SignatureAlgorithm:
    if uri is None:
        return signature_algorithm_for_key(key)
    try:
        algorithm = get_signature_algorithm(uri)
    except UnknownAlgorithm:
        raise SignatureError("unsupported_algorithm", f"signature method {uri}") from None
    if not algorithm.accepts(key):
        raise TypeError(f"{uri} does not accept a {type(key).__name__}")
    return algorithm


def _target_elements(document_root: Any, references: Sequence[Reference]) -> list[tuple[str, Any]]:
    """Each reference's Id and element: elements get an Id if they have none, then every Id is resolved
    in the whole document (one index for all of them) — an Id that two elements carry is never signed."""
    root = document_root.getroottree().getroot()
    wanted: list[tuple[str, Any]] = []
    for ref in references:
        if isinstance(ref.target, str):
            wanted.append((ref.target, None))
            continue
        element = ref.target
        if element.getroottree().getroot() is not root:
            raise ValueError("a referenced element is not in the signed document")
        existing = element_id(element)
        if existing is None:
            existing = f"id-{uuid.uuid4().hex}"
            element.set(ref.id_attribute, existing)
        wanted.append((existing, element))
    ids = IdIndex(document_root)
    targets = []
    for value, element in wanted:
        found = ids.resolve(value)  # raises duplicate_id: never sign ambiguously
        if element is not None and found is not element:
            raise SignatureError("duplicate_id", f"Id {value!r} resolves to another element")
        targets.append((value, found))
    return targets


def _check_placement(element: Any, signature: Any, ref: Reference) -> None:
    """A reference whose subtree holds its own Signature can only be signed with the enveloped transform:
    otherwise its digest would cover the SignatureValue being computed."""
    if any(ancestor is signature for ancestor in element.iterancestors()):
        raise ValueError("a reference cannot point into its own ds:Signature")
    contains = any(ancestor is element for ancestor in signature.iterancestors())
    if contains and ENVELOPED_SIGNATURE not in ref.transforms:
        raise ValueError(
            f"the signature is inside #{element_id(element)}: add the enveloped-signature transform"
        )


# --- verification ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ParsedReference:
    id: str
    element: Any
    steps: list[tuple[str, Any]]
    digest: DigestAlgorithm
    digest_value: bytes


def verify(
    signature_element: Any,
    *,
    public_key: object,
    max_references: int = MAX_REFERENCES,
    refused_algorithms: frozenset[str] = frozenset(),
    ids: IdIndex | None = None,
) -> VerifiedSignature:
    """Check a ds:Signature against ``public_key``; raise ``SignatureError`` or return what was proven.

    The key comes from the caller (a token in the message, a pinned certificate): *who* signed is the
    caller's question, answered with ``trust.TrustStore`` and the participant registry, not here — and
    a verifier facing the open Internet answers it *before* calling this, which canonicalises and hashes.
    Cheap refusals come first: at most ``max_references`` references, no URI twice (each repeat of a large
    element would be hashed again), no algorithm of ``refused_algorithms``; then the SignatureValue over
    SignedInfo; the referenced elements are digested last, only for a signature that verified.
    ``ids``: an index of the signature's document the caller already made (``wsse`` resolves its token
    with the same one); made here otherwise.
    """
    if signature_element.tag != _ds("Signature"):
        raise SignatureError("malformed", f"expected ds:Signature, got {signature_element.tag}")
    children = _element_children(signature_element)
    if len(children) < 2 or children[0].tag != _ds("SignedInfo") or children[1].tag != _ds("SignatureValue"):
        raise SignatureError("malformed", "ds:Signature must start with ds:SignedInfo, ds:SignatureValue")
    signed_info, signature_value_element = children[0], children[1]
    rest = children[3:] if len(children) > 2 and children[2].tag == _ds("KeyInfo") else children[2:]
    if any(child.tag != _ds("Object") for child in rest):
        # XMLDSig §4.1: SignedInfo, SignatureValue, KeyInfo?, Object*. signxml and libxmlsec1 refuse
        # anything else too (found by the differential fuzzer).
        raise SignatureError("malformed", "ds:Signature holds an element other than KeyInfo and Object")

    parts = _element_children(signed_info)
    if (
        len(parts) < 3
        or parts[0].tag != _ds("CanonicalizationMethod")
        or parts[1].tag != _ds("SignatureMethod")
    ):
        raise SignatureError(
            "malformed", "ds:SignedInfo must hold CanonicalizationMethod, SignatureMethod, Reference+"
        )
    c14n_method = _algorithm_attribute(parts[0])
    if c14n_method not in C14N_METHODS:
        raise SignatureError("unsupported_algorithm", f"canonicalization {c14n_method}")
    method_uri = _algorithm_attribute(parts[1])
    try:
        signature_algorithm = get_signature_algorithm(method_uri)
    except UnknownAlgorithm:
        raise SignatureError("unsupported_algorithm", f"signature method {method_uri}") from None
    if method_uri in refused_algorithms:
        raise SignatureError("unsupported_algorithm", f"signature method {method_uri} is not accepted here")
    reference_elements = parts[2:]
    if len(reference_elements) > max_references:
        raise SignatureError("malformed", f"more than {max_references} references")
    uris = [r.get("URI") for r in reference_elements]
    if len(set(uris)) != len(uris):
        raise SignatureError("malformed", "a reference URI appears twice in ds:SignedInfo")
    if ids is None or not ids.covers(signature_element):
        ids = IdIndex(signature_element)
    references = [_parse_reference(element, signature_element, ids) for element in reference_elements]
    for ref in references:
        if ref.digest.uri in refused_algorithms:
            raise SignatureError(
                "unsupported_algorithm", f"digest method {ref.digest.uri} is not accepted here"
            )
    signature_value = _base64(simple_content(signature_value_element), "SignatureValue")

    if not signature_algorithm.accepts(public_key):
        raise SignatureError("bad_signature", f"a {type(public_key).__name__} cannot verify {method_uri}")
    try:
        signed_octets = canonicalize(
            signed_info, c14n_method, inclusive_ns_prefixes=inclusive_prefixes(parts[0])
        )
    except TransformError as exc:
        raise SignatureError("malformed", f"ds:SignedInfo: {exc}") from None
    if not signature_algorithm.verify(public_key, signature_value, signed_octets):
        raise SignatureError("bad_signature", "SignatureValue does not verify over SignedInfo")

    verified = []
    for ref in references:
        try:
            octets = _transformed(ref.element, ref.steps, signature_element)
        except TransformError as exc:
            raise SignatureError("malformed", f"reference #{ref.id}: {exc}") from None
        if not hmac.compare_digest(ref.digest.digest(octets), ref.digest_value):
            raise SignatureError("digest_mismatch", f"#{ref.id} changed after it was signed")
        verified.append(
            VerifiedReference(
                id=ref.id,
                element=ref.element,
                digest_algorithm=ref.digest.uri,
                transforms=tuple(uri for uri, _ in ref.steps),
            )
        )
    return VerifiedSignature(
        references=tuple(verified),
        algorithm=method_uri,
        signature_value=signature_value,
        signed_info_digest=hashlib.sha256(signed_octets).digest(),
    )


def _parse_reference(reference: Any, signature: Any, ids: IdIndex) -> _ParsedReference:
    if reference.tag != _ds("Reference"):
        raise SignatureError("malformed", f"unexpected {reference.tag} in ds:SignedInfo")
    uri = reference.get("URI")
    if uri is None or not uri.startswith("#") or len(uri) < 2 or uri.startswith("#xpointer("):
        raise SignatureError(
            "malformed", f"only same-document references URI='#id' are accepted, got {uri!r}"
        )
    ref_id = uri[1:]
    element = ids.resolve(ref_id)
    if element is signature or any(ancestor is signature for ancestor in element.iterancestors()):
        raise SignatureError("malformed", f"#{ref_id} points into the ds:Signature itself")

    children = _element_children(reference)
    steps: list[tuple[str, Any]] = []
    if children and children[0].tag == _ds("Transforms"):
        transform_elements = _element_children(children[0])
        if not transform_elements or len(transform_elements) > MAX_TRANSFORMS:
            raise SignatureError("malformed", f"#{ref_id}: 1 to {MAX_TRANSFORMS} transforms expected")
        for transform in transform_elements:
            if transform.tag != _ds("Transform"):
                raise SignatureError("malformed", f"unexpected {transform.tag} in ds:Transforms")
            transform_uri = _algorithm_attribute(transform)
            _lookup_transform(transform_uri)
            steps.append((transform_uri, transform))
        children = children[1:]
    if len(children) != 2 or children[0].tag != _ds("DigestMethod") or children[1].tag != _ds("DigestValue"):
        raise SignatureError("malformed", f"#{ref_id}: expected ds:DigestMethod and ds:DigestValue")
    digest = _lookup_digest(_algorithm_attribute(children[0]))
    return _ParsedReference(
        ref_id, element, steps, digest, _base64(simple_content(children[1]), "DigestValue")
    )


# --- helpers --------------------------------------------------------------------------------------------


def _transformed(element: Any, steps: list[tuple[str, Any]], signature: Any) -> bytes:
    return apply_transforms(element, steps, signature=signature)


def _element_children(element: Any) -> list[Any]:
    """Child elements only: comments and PIs between ds: elements carry no meaning (and are not signed)."""
    return list(element.iterchildren(etree.Element))


def _algorithm_attribute(element: Any) -> str:
    value = element.get("Algorithm")
    if not value:
        raise SignatureError("malformed", f"{etree.QName(element).localname} without Algorithm")
    return str(value)


def _lookup_digest(uri: str) -> DigestAlgorithm:
    try:
        return get_digest(uri)
    except UnknownAlgorithm:
        raise SignatureError("unsupported_algorithm", f"digest method {uri}") from None


def _lookup_transform(uri: str) -> None:
    try:
        get_transform(uri)
    except UnsupportedTransform:
        raise SignatureError("unsupported_algorithm", f"transform {uri}") from None


def simple_content(element: Any) -> str:
    """The text of a simple-content element (SignatureValue, DigestValue, a token, a time), comments
    skipped as libxmlsec1 does; a child element is malformed — ``.text`` alone would read only what
    precedes it, and signxml and libxmlsec1 refuse it (found by the differential fuzzer)."""
    if any(isinstance(child.tag, str) for child in element):
        raise SignatureError("malformed", f"{etree.QName(element).localname} has child elements")
    return (element.text or "") + "".join(child.tail or "" for child in element)


def _base64(text: str | None, what: str) -> bytes:
    """Strict base64 that tolerates the line breaks xmlsec and Java stacks put into long values."""
    compact = "".join((text or "").split())
    if not compact:
        raise SignatureError("malformed", f"empty {what}")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("malformed", f"{what} is not base64") from None
