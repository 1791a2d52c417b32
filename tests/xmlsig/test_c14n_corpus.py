"""The awkward-document corpus (tests/data/c14n/): our exclusive and inclusive canonical forms equal lxml's
and libxmlsec1's byte for byte.

* Whole documents: ours on the root element against lxml's ``tostring(method="c14n")`` with and without
  comments, exclusive and inclusive.
* Every element carrying an ``Id`` (a document subset, what a same-document reference selects):
  exclusive c14n against lxml's subtree c14n; both exclusive and inclusive against libxmlsec1, which
  digests the subset of a reference ``URI="#Id"`` with that transform — equal SHA-256 digests of the
  octets, compared as bytes. lxml's own *inclusive* subtree c14n is not a reference: it neither inherits
  ``xml:*`` attributes into the apex (C14N 1.0 §2.4) nor, in lxml 6.1, gets nested default namespaces
  right (see ``c14n.inclusive_c14n``), which is why ours canonicalises a standalone copy.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.xmlsig.c14n import C14N, DS_NS, EXC_C14N, exclusive_c14n, inclusive_c14n

try:
    import xmlsec
except Exception as exc:  # noqa: BLE001  # ImportError, or xmlsec.InternalError when its libxml2 != lxml's
    pytest.skip(f"xmlsec (dev extra) is not usable here: {exc!r}", allow_module_level=True)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "c14n"
FILES = sorted(CORPUS.glob("*.xml"))
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_XMLSEC_C14N = {EXC_C14N: xmlsec.constants.TransformExclC14N, C14N: xmlsec.constants.TransformInclC14N}


def _load(path: Path) -> Any:
    return etree.parse(str(path), _PARSER).getroot()


def _apexes(root: Any) -> list[Any]:
    return [e for e in root.iter(etree.Element) if e.get("Id") is not None]


def _libxmlsec1_digest(path: Path, apex_id: str, method: str) -> bytes:
    """The SHA-256 libxmlsec1 computes over the subset ``#apex_id`` after the ``method`` transform."""
    root = _load(path)
    apex = next(e for e in _apexes(root) if e.get("Id") == apex_id)
    template = xmlsec.template.create(
        root, xmlsec.constants.TransformExclC14N, xmlsec.constants.TransformHmacSha256
    )
    reference = xmlsec.template.add_reference(template, xmlsec.constants.TransformSha256, uri=f"#{apex_id}")
    xmlsec.template.add_transform(reference, _XMLSEC_C14N[method])
    root.append(template)  # the root has no Id: no apex contains the signature
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_binary_data(xmlsec.constants.KeyDataHmac, b"corpus")
    context.register_id(apex, "Id")
    context.sign(template)
    return base64.b64decode(template.findtext(f".//{{{DS_NS}}}DigestValue"))


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 9
    assert sum(len(_apexes(_load(path))) for path in FILES) >= 30
    for path in FILES:
        assert _load(path).get("Id") is None, f"{path.name}: the root must not carry an Id (see above)"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
@pytest.mark.parametrize("comments", [False, True], ids=["", "with-comments"])
def test_whole_documents_equal_lxml(path: Path, comments: bool) -> None:
    root = _load(path)
    assert exclusive_c14n(root, with_comments=comments) == etree.tostring(
        root, method="c14n", exclusive=True, with_comments=comments
    )
    assert inclusive_c14n(root, with_comments=comments) == etree.tostring(
        root, method="c14n", exclusive=False, with_comments=comments
    )


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_subset_equals_lxml_exclusive_and_libxmlsec1_both_ways(path: Path) -> None:
    root = _load(path)
    for apex in _apexes(root):
        ours_exclusive = exclusive_c14n(apex)
        lxml_exclusive = etree.tostring(apex, method="c14n", exclusive=True, with_comments=False)
        assert ours_exclusive == lxml_exclusive, apex.get("Id")
        for method, ours in ((EXC_C14N, ours_exclusive), (C14N, inclusive_c14n(apex))):
            assert hashlib.sha256(ours).digest() == _libxmlsec1_digest(path, apex.get("Id"), method), (
                f"{path.name} #{apex.get('Id')} {method}: {ours!r}"
            )


def test_inclusive_subsets_inherit_xml_attributes_and_namespaces() -> None:
    """What the libxmlsec1 comparison above proves, spelled out on one apex of the corpus."""
    root = _load(CORPUS / "xml-attributes.xml")
    e3 = next(e for e in _apexes(root) if e.get("Id") == "e3")
    canonical = inclusive_c14n(e3)
    assert b'xml:base="http://example.org/dir/"' in canonical and b'xml:lang="en"' in canonical
    assert b'xml:space="default"' in canonical  # the apex's own value wins over the inherited one
    assert b"xml:" not in exclusive_c14n(e3).replace(b'xml:space="default"', b"")


def test_inclusive_c14n_keeps_the_prefix_of_a_namespace_bound_twice() -> None:
    """Regression (found by this corpus): the standalone copy behind inclusive c14n re-picked prefixes by
    namespace URI, so ``p:e`` under ``xmlns="urn:u" xmlns:p="urn:u"`` was canonicalised as ``e``."""
    root = etree.fromstring(
        b'<r xmlns="urn:u" xmlns:p="urn:u" xmlns:q="urn:v"><a Id="a"><p:e q:x="1"/></a></r>'
    )
    assert inclusive_c14n(root[0]) == (
        b'<a xmlns="urn:u" xmlns:p="urn:u" xmlns:q="urn:v" Id="a"><p:e q:x="1"></p:e></a>'
    )
