"""The СМЭВ 3 transform ``urn://smev-gov-ru/xmldsig/transform``, as the reference implementation does it.

СМЭВ 3 signs every business element with two transforms: exclusive c14n, then this one, which
normalises what c14n leaves to the serialiser — namespace prefixes and insignificant whitespace — so
that an intermediary may re-prefix the message without breaking signatures. The rules are those of the
methodological recommendations (Методические рекомендации по работе с ЕСМЭВ, 3.x), whose normative part
is the reference Java class ``SmevTransformSpi`` (package ``ru.voskhod.crypto.impl``, author
D. Pryakhin; it circulates in public code, e.g. github.com/MaksimOK/smev3cxf,
``client_1.11/crypto/src/main/java/ru/voskhod/crypto/impl/SmevTransformSpi.java``). A StAX event loop
there; here the same rules over the parsed tree:

1. the XML declaration, processing instructions (and comments) are dropped;
2. a text node made only of characters ≤ U+0020 (Java's ``String.trim()``) is dropped; any other text
   is kept whole — including text without letters or digits (``<PlaceType>-</PlaceType>``) and the text
   of mixed content, which PyPI ``smev3transform`` wrongly drops;
3. no empty-element tags: ``<a></a>``;
4./5. namespace declarations are not copied: every element and qualified attribute gets its namespace
   declared where first needed in its subtree, and only there (unused declarations disappear);
6. prefixes are ``ns1``, ``ns2``… numbered in document order across the whole fragment — a namespace
   re-declared in a sibling subtree gets a new number;
7. attributes are sorted: qualified ones first, by namespace URI then local name, then unqualified ones
   by local name (Java ``String.compareTo``, i.e. UTF-16 code units);
8. declarations come before attributes: the element's namespace first, then those of its attributes in
   attribute order.

Escaping is the JDK ``XMLStreamWriter``'s: ``&``, ``<``, ``>`` in text; ``&``, ``<``, ``>``, ``"`` in
attribute values and namespace URIs; nothing else (a tab or line break in an attribute value is written
as is — which PyPI ``smev3transform`` does not escape at all). An element in no namespace gets
``xmlns:nsN=""`` as the reference writes it (СМЭВ schemas have none).

Not reproduced: a StAX parser may hand one text node over in several chunks (at entity references);
the reference would then drop a whitespace-only chunk in the middle of a text. Canonical input (what
follows exc-c14n) makes that practically unreachable; we treat a text node as a whole.

``namespace_aliases`` reads one namespace URI as another while transforming. It exists for one real
case: СМЭВ delivers some senders' content re-namespaced from ``message-exchange/types/1.2`` to ``/1.1``
(see ``tests/data/smev3/README.md``), so the sender's digest only matches when read back as 1.2. It is
an explicit option of the verifier (``smev.verify_signatures(..., namespace_aliases=...)``,
``rserz xmlsig verify --ns-alias``), never applied silently.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped, unused-ignore]  # lxml ships no stubs

from rserz_soap.xmlsig.c14n import (
    SMEV_TRANSFORM,
    NodeSet,
    TransformContext,
    TransformData,
    TransformError,
    inclusive_c14n,
    register_transform,
)

__all__ = ["SMEV_TRANSFORM", "SmevTransform", "namespace_aliases", "smev_transform"]

_WHITESPACE: Final = "".join(chr(code) for code in range(0x21))  # what Java's trim() removes
_TEXT_ESCAPES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTRIBUTE_ESCAPES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_PARSER: Final = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, strip_cdata=True
)
_ALIASES: ContextVar[Mapping[str, str] | None] = ContextVar("smev_namespace_aliases", default=None)


@contextlib.contextmanager
def namespace_aliases(aliases: Mapping[str, str]) -> Iterator[None]:
    """Within this block, every СМЭВ transform reads namespace URI ``k`` as ``aliases[k]``."""
    token = _ALIASES.set(dict(aliases))
    try:
        yield
    finally:
        _ALIASES.reset(token)


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")


def _attribute_order(item: tuple[str, str, str]) -> tuple[int, bytes, bytes]:
    uri, local, _value = item
    return (0, _utf16(uri), _utf16(local)) if uri else (1, b"", _utf16(local))


def smev_transform(data: bytes, *, aliases: Mapping[str, str] | None = None) -> bytes:
    """The transform of an XML fragment (UTF-8 bytes, normally the output of exc-c14n)."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise TransformError(f"{SMEV_TRANSFORM}: input is not well-formed XML: {exc}") from None
    alias = aliases or {}
    out: list[str] = []
    in_scope: dict[str, str] = {}  # namespace URI -> generated prefix, for the open elements
    counter = 0

    def text(value: str | None) -> None:
        if value and value.strip(_WHITESPACE):
            out.append(value.translate(_TEXT_ESCAPES))

    def start(element: Any) -> tuple[str, list[str]]:
        nonlocal counter
        declared: list[str] = []

        def prefix_of(uri: str) -> str:
            nonlocal counter
            prefix = in_scope.get(uri)
            if prefix is None:
                counter += 1
                prefix = in_scope[uri] = f"ns{counter}"
                declared.append(uri)
            return prefix

        qname = etree.QName(element)
        uri = qname.namespace or ""
        name = f"{prefix_of(alias.get(uri, uri))}:{qname.localname}"
        attributes = []
        for key, value in element.attrib.items():
            attribute = etree.QName(key)
            attribute_uri = attribute.namespace or ""
            attributes.append((alias.get(attribute_uri, attribute_uri), attribute.localname, value))
        attributes.sort(key=_attribute_order)
        rendered = [
            f' {prefix_of(a_uri)}:{local}="{value.translate(_ATTRIBUTE_ESCAPES)}"'
            if a_uri
            else f' {local}="{value.translate(_ATTRIBUTE_ESCAPES)}"'
            for a_uri, local, value in attributes
        ]
        declarations = [f' xmlns:{in_scope[u]}="{u.translate(_ATTRIBUTE_ESCAPES)}"' for u in declared]
        out.append(f"<{name}{''.join(declarations)}{''.join(rendered)}>")
        return name, declared

    name, declared = start(root)
    text(root.text)
    stack: list[tuple[Any, Iterator[Any], str, list[str]]] = [(root, iter(root), name, declared)]
    while stack:
        element, children, name, declared = stack[-1]
        child = next(children, None)
        if child is None:
            out.append(f"</{name}>")
            for uri in declared:
                del in_scope[uri]
            stack.pop()
            if stack:
                text(element.tail)
            continue
        if isinstance(child.tag, str):
            child_name, child_declared = start(child)
            text(child.text)
            stack.append((child, iter(child), child_name, child_declared))
        else:  # a comment, PI or unexpanded entity: dropped, but the text after it is a text node of its own
            text(child.tail)
    return "".join(out).encode("utf-8")


@dataclass(frozen=True)
class SmevTransform:
    """The registered transform: octets in (after exc-c14n), octets out; a node-set is c14n'ed first,
    as Apache Santuario hands a node-set to an octet transform."""

    uri: str = SMEV_TRANSFORM

    def apply(self, data: TransformData, context: TransformContext) -> TransformData:
        if isinstance(data, NodeSet):
            data = inclusive_c14n(data.root, exclude=data.excluded)
        return smev_transform(data, aliases=_ALIASES.get())


register_transform(SmevTransform())
