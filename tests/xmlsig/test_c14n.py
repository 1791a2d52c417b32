"""Canonicalisation and the transform registry (rserz_soap.xmlsig.c14n)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from rserz_soap.xmlsig import c14n
from rserz_soap.xmlsig.c14n import (
    C14N,
    C14N_WITH_COMMENTS,
    ENVELOPED_SIGNATURE,
    EXC_C14N,
    EXC_C14N_WITH_COMMENTS,
    NodeSet,
    TransformContext,
    TransformData,
    TransformError,
    UnsupportedTransform,
    apply_transforms,
    canonicalize,
    exclusive_c14n,
    inclusive_c14n,
    inclusive_prefixes,
    register_transform,
)

DS = c14n.DS_NS

DOC = b"""<a:root xmlns:a="urn:a" xmlns:b="urn:b" xmlns="urn:default" xml:lang="ru"><!-- top -->
<x b:attr="1" z="2" a="3"><!--inner--><y>text &amp; more</y><?pi data?><e/></x>tail<z/></a:root>"""


def _x() -> Any:
    return etree.fromstring(DOC).find("{urn:default}x")


def test_exclusive_renders_only_visibly_used_namespaces_and_no_comments() -> None:
    assert exclusive_c14n(_x()) == (
        b'<x xmlns="urn:default" xmlns:b="urn:b" a="3" z="2" b:attr="1"><y>text &amp; more</y>'
        b"<?pi data?><e></e></x>"
    )


def test_inclusive_renders_ancestor_namespaces_and_inherited_xml_attributes() -> None:
    # C14N 1.0 §2.4: xml:lang of an omitted ancestor is rendered on the apex of the subset.
    # Attributes sort by namespace URI, then name: none, then XML's http://… namespace, then urn:b.
    assert inclusive_c14n(_x()) == (
        b'<x xmlns="urn:default" xmlns:a="urn:a" xmlns:b="urn:b" a="3" z="2" xml:lang="ru" b:attr="1">'
        b"<y>text &amp; more</y><?pi data?><e></e></x>"
    )


def test_inclusive_c14n_does_not_undeclare_the_default_namespace_deep_below_the_apex() -> None:
    # lxml's own subtree c14n renders <a xmlns=""> at the third level here, moving it out of urn:d.
    apex = etree.fromstring(b'<root xmlns:p="urn:p"><a xmlns="urn:d"><a><a><a/></a></a></a></root>')[0]
    assert inclusive_c14n(apex) == b'<a xmlns="urn:d" xmlns:p="urn:p"><a><a><a></a></a></a></a>'


def test_inclusive_c14n_leaves_the_document_as_it_was() -> None:
    x = _x()
    before = etree.tostring(x.getroottree())
    inclusive_c14n(x)
    assert etree.tostring(x.getroottree()) == before


def test_with_comments_variants_keep_comments() -> None:
    x = _x()
    assert b"<!--inner-->" in canonicalize(x, EXC_C14N_WITH_COMMENTS)
    assert b"<!--inner-->" in canonicalize(x, C14N_WITH_COMMENTS)
    assert b"<!--" not in canonicalize(x, EXC_C14N)
    assert b"<!--" not in canonicalize(x, C14N)


def test_inclusive_namespace_prefix_list_adds_named_prefixes() -> None:
    x = _x()
    assert b'xmlns:a="urn:a"' not in exclusive_c14n(x)
    assert b'xmlns:a="urn:a"' in exclusive_c14n(x, inclusive_ns_prefixes=["a"])


def test_prefix_list_is_read_from_the_method_element() -> None:
    method = etree.fromstring(
        f'<ds:CanonicalizationMethod xmlns:ds="{DS}" Algorithm="{EXC_C14N}">'
        f'<ec:InclusiveNamespaces xmlns:ec="{EXC_C14N}" PrefixList="soap  wsse"/></ds:CanonicalizationMethod>'
    )
    assert inclusive_prefixes(method) == ["soap", "wsse"]
    assert inclusive_prefixes(etree.fromstring(f'<m Algorithm="{EXC_C14N}"/>')) is None
    assert inclusive_prefixes(None) is None


def test_a_comment_node_is_refused_instead_of_crashing_lxml() -> None:
    comment = etree.fromstring(DOC)[0]
    with pytest.raises(TypeError):
        exclusive_c14n(comment)
    with pytest.raises(TypeError):
        inclusive_c14n(comment)


def test_unknown_canonicalization_method_is_refused() -> None:
    with pytest.raises(UnsupportedTransform) as info:
        canonicalize(_x(), "http://www.w3.org/2006/12/xml-c14n11")
    assert info.value.uri == "http://www.w3.org/2006/12/xml-c14n11"


# --- enveloped signature --------------------------------------------------------------------------------

ENVELOPED_DOC = f"""<r:doc xmlns:r="urn:r" xmlns:other="urn:other"><r:a>1</r:a>
<ds:Signature xmlns:ds="{DS}"><ds:SignedInfo/></ds:Signature>after-signature<r:b>2</r:b></r:doc>""".encode()


@pytest.mark.parametrize("method", [EXC_C14N, C14N])
def test_enveloped_transform_drops_the_signature_but_keeps_surrounding_text(method: str) -> None:
    root = etree.fromstring(ENVELOPED_DOC)
    signature = root.find(f"{{{DS}}}Signature")
    before = etree.tostring(root)
    octets = apply_transforms(root, [(ENVELOPED_SIGNATURE, None), (method, None)], signature=signature)
    assert b"Signature" not in octets
    assert b"<r:a>1</r:a>\nafter-signature<r:b>2</r:b>" in octets
    assert etree.tostring(root) == before  # put back exactly where it was
    assert signature.getparent() is root


def test_enveloped_then_inclusive_keeps_unused_namespaces_in_scope() -> None:
    # A plain copy of r:a would lose xmlns:other, which inclusive c14n must render.
    root = etree.fromstring(ENVELOPED_DOC)
    inner = root.find("{urn:r}a")
    signature = root.find(f"{{{DS}}}Signature")
    inner.append(signature)  # now the signature (and the text after it) sits inside r:a
    octets = apply_transforms(inner, [(ENVELOPED_SIGNATURE, None), (C14N, None)], signature=signature)
    assert octets == b'<r:a xmlns:other="urn:other" xmlns:r="urn:r">1after-signature</r:a>'


def test_enveloped_transform_ignores_a_signature_outside_the_reference() -> None:
    root = etree.fromstring(ENVELOPED_DOC)
    signature = root.find(f"{{{DS}}}Signature")
    a = root.find("{urn:r}a")
    octets = apply_transforms(a, [(ENVELOPED_SIGNATURE, None), (EXC_C14N, None)], signature=signature)
    assert octets == b'<r:a xmlns:r="urn:r">1</r:a>'


def test_a_chain_ending_in_a_node_set_is_finished_with_inclusive_c14n() -> None:
    x = _x()
    assert apply_transforms(x, [], signature=etree.Element("unrelated")) == inclusive_c14n(x)


def test_c14n_of_octets_is_refused() -> None:
    x = _x()
    with pytest.raises(TransformError):
        apply_transforms(x, [(EXC_C14N, None), (EXC_C14N, None)], signature=etree.Element("s"))


# --- registry (the СМЭВ hook) ---------------------------------------------------------------------------


_UPPER: str = "urn:example:upper-case-octets"


@dataclass(frozen=True)
class _UpperCaseOctets:
    """A transform of the СМЭВ kind: runs after exc-c14n on octets and returns octets."""

    uri: str = _UPPER

    def apply(self, data: TransformData, context: TransformContext) -> TransformData:
        assert isinstance(data, bytes)
        assert context.transform is not None and context.transform.get("Algorithm") == _UPPER
        return data.upper()


@pytest.fixture
def transforms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made by a test disappear with it."""
    monkeypatch.setattr(c14n, "_TRANSFORMS", dict(c14n._TRANSFORMS))


@pytest.mark.usefixtures("transforms")
def test_a_new_transform_plugs_in_without_touching_the_core() -> None:
    with pytest.raises(UnsupportedTransform):
        c14n.get_transform(_UPPER)
    register_transform(_UpperCaseOctets())
    element = etree.Element(f"{{{DS}}}Transform", Algorithm=_UPPER)
    octets = apply_transforms(_x(), [(EXC_C14N, None), (_UPPER, element)], signature=etree.Element("s"))
    assert octets == exclusive_c14n(_x()).upper()


@pytest.mark.usefixtures("transforms")
def test_registering_a_uri_twice_needs_replace() -> None:
    register_transform(_UpperCaseOctets())
    with pytest.raises(ValueError, match="already registered"):
        register_transform(_UpperCaseOctets())
    register_transform(_UpperCaseOctets(), replace=True)


def test_node_set_describes_without_copying() -> None:
    x = _x()
    assert NodeSet(x).root is x
    assert NodeSet(x).excluded == ()


# --- properties -----------------------------------------------------------------------------------------
# Trees are generated as XML text and parsed, like every message we meet: lxml-built trees with
# undeclared namespaces get auto-prefixes that no parser would ever produce.

_PREFIXES = {"p0": "urn:p", "p1": "urn:q", "p2": "urn:r"}
DECLARATIONS = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in _PREFIXES.items())
_names = st.sampled_from(["a", "b", "FAM", "IM"])
_prefix = st.sampled_from([None, *_PREFIXES])
_text = st.text(alphabet=st.sampled_from("ab &<>\"'\t\rЖ\n"), max_size=6)
_other_nodes = st.sampled_from(["<!--note-->", "<?pi data?>", "<![CDATA[x<y]]>"])


def _qname(prefix: str | None, name: str) -> str:
    return name if prefix is None else f"{prefix}:{name}"


def _escape(text: str) -> str:
    return escape(text, {"\r": "&#13;"})


@st.composite
def xml_fragments(draw: st.DrawFn, depth: int = 0) -> str:
    """An element as XML text, prefixes p0..p2 left to the caller to declare (also used by the interop tests)."""
    tag = _qname(draw(_prefix), draw(_names))
    attributes = draw(st.lists(st.tuples(_prefix, _names), max_size=3, unique=True))
    parts = [tag]
    default = draw(st.sampled_from([None, "urn:d", ""]))
    if default is not None:
        parts.append(f'xmlns="{default}"')
    parts += [f"{_qname(prefix, name)}={quoteattr(draw(_text))}" for prefix, name in attributes]
    children = (
        draw(st.lists(st.one_of(xml_fragments(depth=depth + 1), _other_nodes), max_size=3))
        if depth < 3
        else []
    )
    content = _escape(draw(_text)) + "".join(child + _escape(draw(_text)) for child in children)
    return f"<{' '.join(parts)}>{content}</{tag}>"


def _embedded(fragment: str, wrapper: str) -> Any:
    return etree.fromstring(wrapper.format(fragment=fragment).encode())[0]


@settings(max_examples=150, deadline=None)
@given(fragment=xml_fragments())
def test_canonical_form_is_a_fixed_point(fragment: str) -> None:
    tree = _embedded(fragment, f"<root {DECLARATIONS}>{{fragment}}</root>")
    for method in (EXC_C14N, C14N):
        once = canonicalize(tree, method)
        assert canonicalize(etree.fromstring(once), method) == once


@settings(max_examples=150, deadline=None)
@given(fragment=xml_fragments())
def test_exclusive_form_does_not_depend_on_where_the_element_sits(fragment: str) -> None:
    # What WS-Security relies on: a Body moved under other ancestors keeps its digest.
    here = _embedded(fragment, f"<root {DECLARATIONS}>{{fragment}}</root>")
    there = _embedded(
        fragment,
        f'<w:Wrapper xmlns:w="urn:w" xmlns:unused="urn:unused" {DECLARATIONS} xml:lang="ru">'
        "{fragment}</w:Wrapper>",
    )
    assert exclusive_c14n(there) == exclusive_c14n(here)
