"""Canonicalisation and the XMLDSig transform pipeline.

A digest is taken over bytes, but what a peer signs is an XML infoset: two serialisations of the same
element must hash alike, so every reference is run through a chain of transforms that ends in a
canonical form. The chain is a registry keyed by the Algorithm URI so that the СМЭВ 3 transform
(``urn://smev-gov-ru/xmldsig/transform``, in ``smev_transform.py``) plugs in without touching the core:

    from rserz_soap.xmlsig.c14n import register_transform

    class SmevTransform:
        uri = SMEV_TRANSFORM
        def apply(self, data: TransformData, context: TransformContext) -> TransformData:
            # СМЭВ lists it after exc-c14n, so ``data`` arrives as canonical bytes
            ...

    register_transform(SmevTransform())

Canonicalisation is libxml2's (through lxml). Deliberate details:

* A same-document reference (``URI="#id"``) selects the element's subtree *without comments* (XMLDSig
  §4.3.3.3), so reference transforms never keep comments, whatever the URI says.
* The enveloped-signature transform does not copy the subtree: the excluded ``ds:Signature`` is
  detached only for the duration of one serialisation and put back exactly where it was (with the text
  that follows it). Canonicalising the same document from two threads at once is therefore not allowed,
  which lxml forbids for mutation anyway.
* Inclusive c14n of a subtree is computed on a standalone copy that declares every in-scope namespace
  (see ``inclusive_c14n`` for the lxml defect this avoids); exclusive c14n, the WS-Security case, works
  on the element in place.
"""

from __future__ import annotations

import contextlib
import copy
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from lxml import etree  # type: ignore[import-untyped, unused-ignore]  # lxml ships no stubs

__all__ = [
    "C14N",
    "C14N_METHODS",
    "C14N_WITH_COMMENTS",
    "DS_NS",
    "ENVELOPED_SIGNATURE",
    "EXC_C14N",
    "EXC_C14N_NS",
    "EXC_C14N_WITH_COMMENTS",
    "SMEV_TRANSFORM",
    "NodeSet",
    "SplicedC14N",
    "Transform",
    "TransformContext",
    "TransformData",
    "TransformError",
    "UnsupportedTransform",
    "apply_transforms",
    "canonicalize",
    "exclusive_c14n",
    "get_transform",
    "inclusive_c14n",
    "inclusive_prefixes",
    "is_builtin_transform",
    "register_transform",
]

DS_NS: Final = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N_NS: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"

EXC_C14N: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_WITH_COMMENTS: Final = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
C14N: Final = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_WITH_COMMENTS: Final = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
ENVELOPED_SIGNATURE: Final = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
# Registered by ``smev_transform.py`` (imported with the package), through the hook above.
SMEV_TRANSFORM: Final = "urn://smev-gov-ru/xmldsig/transform"

# Canonicalisation methods allowed in ds:SignedInfo/ds:CanonicalizationMethod: uri -> (exclusive, comments)
C14N_METHODS: Final[dict[str, tuple[bool, bool]]] = {
    EXC_C14N: (True, False),
    EXC_C14N_WITH_COMMENTS: (True, True),
    C14N: (False, False),
    C14N_WITH_COMMENTS: (False, True),
}

_XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
# C14N 1.0 §2.4: these are inherited into an apex element from omitted ancestors (exc-c14n does not).
_INHERITED_XML_ATTRIBUTES: Final = tuple(f"{{{_XML_NS}}}{name}" for name in ("lang", "space", "base"))
_INCLUSIVE_NAMESPACES: Final = f"{{{EXC_C14N_NS}}}InclusiveNamespaces"


class TransformError(ValueError):
    """The transform chain cannot be applied to this input (a malformed reference, not a bad digest)."""


class UnsupportedTransform(LookupError):
    """No transform or canonicalisation method is registered under this URI."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.uri = uri


@dataclass(frozen=True)
class NodeSet:
    """An element's subtree minus some excluded subtrees: what ``URI="#id"`` plus transforms select.

    Kept as a description rather than a copy so canonicalisation sees the element in its real context.
    """

    root: Any
    excluded: tuple[Any, ...] = ()


TransformData = NodeSet | bytes


@dataclass(frozen=True)
class TransformContext:
    """What a transform may need besides its input: its own ds:Transform element (for parameters such
    as ``ec:InclusiveNamespaces``) and the ds:Signature being created or verified."""

    signature: Any
    transform: Any | None = None


class Transform(Protocol):
    """One step of a reference's transform chain, registered by its Algorithm URI."""

    @property
    def uri(self) -> str: ...

    def apply(self, data: TransformData, context: TransformContext) -> TransformData: ...


# --- canonicalisation -----------------------------------------------------------------------------------


def exclusive_c14n(
    node: Any,
    *,
    inclusive_ns_prefixes: Sequence[str] | None = None,
    with_comments: bool = False,
    exclude: Sequence[Any] = (),
) -> bytes:
    """Exclusive XML Canonicalization 1.0 of ``node``'s subtree: the form WS-Security signs, because it
    does not depend on where the element sits (a SOAP stack may re-wrap the Body in other headers)."""
    _require_element(node)
    prefixes = list(inclusive_ns_prefixes) if inclusive_ns_prefixes else None
    if not exclude:  # every WS-Security reference and SignedInfo: nothing to detach
        return _exclusive_octets(node, with_comments, prefixes)
    with _detached(exclude):
        return _exclusive_octets(node, with_comments, prefixes)


def _exclusive_octets(node: Any, with_comments: bool, prefixes: list[str] | None) -> bytes:
    try:
        return bytes(
            etree.tostring(
                node,
                method="c14n",
                exclusive=True,
                with_comments=with_comments,
                inclusive_ns_prefixes=prefixes,
            )
        )
    except etree.C14NError as exc:  # as ``_c14n_errors``, without a context manager on the hot path
        raise _refused(exc) from None


class SplicedC14N:
    """Exclusive c14n of copies of one element that differ only in a few attribute values and texts, made
    by splicing the new values between octets that ``exclusive_c14n`` produced once.

    ``slots`` name the varying parts in document order: ``(index in element.iter(), attribute name)``,
    or ``(index, None)`` for the text of an element without children. The octets around them are taken
    from ``exclusive_c14n`` of a copy with a unique marker in every slot, then checked: a copy with other
    values must canonicalise to exactly what splicing gives. ``octets`` is None if that does not hold (a
    slot whose value c14n does not render verbatim, e.g.); callers canonicalise then. The element's own
    ancestors do not matter — exclusive c14n renders only the namespaces an element uses.

    ``splice`` declines (None) a value that canonical XML would escape or normalise: only
    ``[A-Za-z0-9._:+/=#-]`` (Ids, URIs of same-document references, base64, xsd:dateTime) is spliced.
    """

    def __init__(self, element: Any, slots: Sequence[tuple[int, str | None]]) -> None:
        self.slots = tuple(slots)
        markers = [uuid.uuid4().hex for _ in self.slots]
        self.octets: tuple[bytes, ...] | None = self._cut(element, markers)
        if self.octets is not None:
            values = [f"x-{uuid.uuid4().hex}" for _ in self.slots]
            if self.splice(values) != exclusive_c14n(_filled_copy(element, self.slots, values)):
                self.octets = None

    def _cut(self, element: Any, markers: list[str]) -> tuple[bytes, ...] | None:
        rest = exclusive_c14n(_filled_copy(element, self.slots, markers))
        pieces = []
        for marker in markers:
            before, found, rest = rest.partition(marker.encode("ascii"))
            if not found or marker.encode("ascii") in rest:
                return None
            pieces.append(before)
        pieces.append(rest)
        return tuple(pieces)

    def splice(self, values: Sequence[str]) -> bytes | None:
        """The exclusive c14n of a copy whose slots hold ``values``; None if a value is not rendered as-is
        (canonicalise the copy then). ``octets`` must not be None."""
        pieces = self.octets
        if pieces is None or len(values) != len(self.slots):
            raise ValueError("no spliced c14n for this element, or not a value for every slot")
        if _VERBATIM("".join(values)) is None:
            return None
        parts = [pieces[0]]
        for value, piece in zip(values, pieces[1:], strict=True):
            parts += (value.encode("ascii"), piece)
        return b"".join(parts)


# Rendered as-is by c14n in an attribute value and in text (no &, <, >, ", whitespace or non-ASCII).
_VERBATIM: Final = re.compile(r"[A-Za-z0-9._:+/=#-]*").fullmatch


def _filled_copy(element: Any, slots: Sequence[tuple[int, str | None]], values: Sequence[str]) -> Any:
    copied = copy.deepcopy(element)
    nodes = list(copied.iter())
    for (index, attribute), value in zip(slots, values, strict=True):
        node = nodes[index]
        if attribute is not None:
            node.set(attribute, value)
        elif len(node):
            raise ValueError("a text slot must be an element without children")
        else:
            node.text = value
    return copied


def inclusive_c14n(node: Any, *, with_comments: bool = False, exclude: Sequence[Any] = ()) -> bytes:
    """Canonical XML 1.0 of ``node``'s subtree, with the in-scope namespaces and the ``xml:*`` attributes
    inherited from its ancestors, as C14N 1.0 prescribes for a document subset.

    Canonicalises a standalone copy: lxml's own subtree c14n (a "fake root" document) wrongly emits
    ``xmlns=""`` two levels below an apex that declares the default namespace (lxml 6.1.3 / libxml2
    2.14), which would break digests against every other implementation. Exclusive c14n is not affected.
    """
    _require_element(node)
    with _detached(exclude):
        standalone = _standalone_copy(node)
    with _c14n_errors():
        return bytes(etree.tostring(standalone, method="c14n", exclusive=False, with_comments=with_comments))


def canonicalize(node: Any, method: str, *, inclusive_ns_prefixes: Sequence[str] | None = None) -> bytes:
    """Canonicalise ``node`` with one of ``C14N_METHODS`` (how ds:SignedInfo itself is serialised)."""
    try:
        exclusive, comments = C14N_METHODS[method]
    except KeyError:
        raise UnsupportedTransform(method) from None
    if exclusive:
        return exclusive_c14n(node, inclusive_ns_prefixes=inclusive_ns_prefixes, with_comments=comments)
    return inclusive_c14n(node, with_comments=comments)


def inclusive_prefixes(method_element: Any | None) -> list[str] | None:
    """The ``ec:InclusiveNamespaces PrefixList`` of a CanonicalizationMethod or Transform element.

    Java stacks (WSS4J, Santuario) routinely send one, naming the SOAP prefix; ignoring it would make
    their otherwise valid signatures fail.
    """
    if method_element is None:
        return None
    found = method_element.find(_INCLUSIVE_NAMESPACES)
    if found is None:
        return None
    return (found.get("PrefixList") or "").split() or None


def _require_element(node: Any) -> None:
    """lxml 6.1 crashes the interpreter (SIGSEGV) when asked to canonicalise a comment or PI node."""
    if not isinstance(getattr(node, "tag", None), str):
        raise TypeError(f"only elements can be canonicalised, got {node!r}")


@contextlib.contextmanager
def _c14n_errors() -> Iterator[None]:
    """libxml2 refuses to canonicalise some well-formed input — a relative namespace URI such as
    ``xmlns:p="rel"`` (C14N 1.0 §2.3, deprecated by Namespaces 1.0) — with a bare ``C14NError``. To a
    verifier that is a malformed reference, not an internal error (found by the differential fuzzer)."""
    try:
        yield
    except etree.C14NError as exc:
        raise _refused(exc) from None


def _refused(exc: Exception) -> TransformError:
    return TransformError(f"cannot canonicalise (a relative namespace URI?): {exc}")


@contextlib.contextmanager
def _detached(nodes: Sequence[Any]) -> Iterator[None]:
    """Take ``nodes`` out of the tree (keeping the text that follows each) and put them back afterwards."""
    saved: list[tuple[Any, Any, int, Any, str | None, str | None]] = []
    try:
        for node in nodes:
            parent = node.getparent()
            if parent is None:
                raise TransformError("cannot exclude the root of the selected subtree")
            index = parent.index(node)
            previous = node.getprevious()
            holder_text = previous.tail if previous is not None else parent.text
            tail = node.tail
            parent.remove(node)  # lxml moves the tail with the element; the text stays in the document:
            if tail:
                if previous is not None:
                    previous.tail = (previous.tail or "") + tail
                else:
                    parent.text = (parent.text or "") + tail
            saved.append((node, parent, index, previous, holder_text, tail))
        yield
    finally:
        for node, parent, index, previous, holder_text, tail in reversed(saved):
            if previous is not None:
                previous.tail = holder_text
            else:
                parent.text = holder_text
            parent.insert(index, node)
            node.tail = tail


# Re-reads our own serialisation of an element already parsed once: no entities, no network, no size cap.
_COPY_PARSER: Final = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def _standalone_copy(node: Any) -> Any:
    """``node`` as the root of a new document that declares every namespace in scope at ``node``.

    Made by serialising the subtree and parsing it back, with the in-scope declarations the serialiser
    left out (unused ones, which inclusive c14n still renders) added to the start tag. Every element and
    attribute keeps its prefix that way. Building a root from ``nsmap`` and appending copies of the
    children (as this did before) let libxml2 re-pick prefixes by namespace URI, so ``<p:x>`` under
    ``xmlns="u" xmlns:p="u"`` came out as ``<x>`` and a peer's inclusive-c14n digest never matched
    (found by the c14n corpus, tests/data/c14n/redeclared-prefixes.xml). ``copy.deepcopy`` keeps prefixes
    but drops unused in-scope declarations.
    """
    serialised = bytes(etree.tostring(node, with_tail=False, encoding="utf-8", xml_declaration=False))
    declared = etree.fromstring(serialised, _COPY_PARSER).nsmap
    missing = b"".join(
        b" " + _declaration(prefix, uri) for prefix, uri in node.nsmap.items() if prefix not in declared
    )
    if missing:
        # lxml escapes ">" in attribute values, so the first ">" closes the start tag (or its "/>").
        end = serialised.index(b">")
        end -= serialised[end - 1 : end] == b"/"
        serialised = serialised[:end] + missing + serialised[end:]
    root = etree.fromstring(serialised, _COPY_PARSER)
    for name, value in _inherited_xml_attributes(node).items():
        root.set(name, value)
    return root


def _declaration(prefix: str | None, uri: str) -> bytes:
    quoted = uri.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    name = "xmlns" if prefix is None else f"xmlns:{prefix}"
    return f'{name}="{quoted}"'.encode()


def _inherited_xml_attributes(node: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    ancestor = node.getparent()
    while ancestor is not None:
        for name in _INHERITED_XML_ATTRIBUTES:
            value = ancestor.get(name)
            if value is not None and name not in found and node.get(name) is None:
                found[name] = value
        ancestor = ancestor.getparent()
    return found


# --- transforms -----------------------------------------------------------------------------------------


def _node_set(data: TransformData, uri: str) -> NodeSet:
    if isinstance(data, bytes):
        raise TransformError(f"{uri} needs a node-set, got octets from the previous transform")
    return data


@dataclass(frozen=True)
class _EnvelopedSignature:
    """Drops the ds:Signature that contains this very reference, so a signature can sit inside what it signs."""

    uri: str = ENVELOPED_SIGNATURE

    def apply(self, data: TransformData, context: TransformContext) -> TransformData:
        nodes = _node_set(data, self.uri)
        signature = context.signature
        if signature is nodes.root:
            raise TransformError("a reference cannot select its own ds:Signature")
        if any(ancestor is nodes.root for ancestor in signature.iterancestors()):
            return NodeSet(nodes.root, (*nodes.excluded, signature))
        return nodes


@dataclass(frozen=True)
class _ExclusiveC14N:
    uri: str = EXC_C14N

    def apply(self, data: TransformData, context: TransformContext) -> TransformData:
        nodes = _node_set(data, self.uri)
        return exclusive_c14n(
            nodes.root, inclusive_ns_prefixes=inclusive_prefixes(context.transform), exclude=nodes.excluded
        )


@dataclass(frozen=True)
class _InclusiveC14N:
    uri: str = C14N

    def apply(self, data: TransformData, context: TransformContext) -> TransformData:
        nodes = _node_set(data, self.uri)
        return inclusive_c14n(nodes.root, exclude=nodes.excluded)


_TRANSFORMS: dict[str, Transform] = {}


def register_transform(transform: Transform, *, replace: bool = False) -> None:
    """Make ``transform`` available to sign and verify; refusing silent replacement catches two modules
    registering the same URI with different meanings."""
    if transform.uri in _TRANSFORMS and not replace:
        raise ValueError(f"a transform is already registered for {transform.uri}")
    _TRANSFORMS[transform.uri] = transform


def get_transform(uri: str) -> Transform:
    try:
        return _TRANSFORMS[uri]
    except KeyError:
        raise UnsupportedTransform(uri) from None


def is_builtin_transform(uri: str) -> bool:
    """True if ``uri`` is served by this module's own transform (not one registered over it with
    ``replace``): exclusive c14n's octets are then ``exclusive_c14n``'s, which a signer may call directly."""
    registered = _TRANSFORMS.get(uri)
    return any(registered is builtin for builtin in _BUILTIN_TRANSFORMS)


def apply_transforms(element: Any, transforms: Sequence[tuple[str, Any | None]], *, signature: Any) -> bytes:
    """Run ``element`` through ``(uri, ds:Transform element or None)`` steps and return the octets to digest.

    A chain that ends in a node-set is finished with inclusive C14N 1.0, as XMLDSig §4.3.3.2 requires.
    """
    data: TransformData = NodeSet(element)
    for uri, transform_element in transforms:
        data = get_transform(uri).apply(
            data, TransformContext(signature=signature, transform=transform_element)
        )
    if isinstance(data, NodeSet):
        return inclusive_c14n(data.root, exclude=data.excluded)
    return data


_BUILTIN_TRANSFORMS: Final[tuple[Transform, ...]] = (
    _EnvelopedSignature(),
    _ExclusiveC14N(),
    _InclusiveC14N(),
)
for _builtin in _BUILTIN_TRANSFORMS:
    register_transform(_builtin)
