"""СФР (pension fund) СНИЛС services over СМЭВ 3: by personal data and a document, by personal data
alone (twins possible), and the check that a СНИЛС belongs to a person.

The request side follows public integrations of ``SnilsByAdditionalDataRequest``
(``http://kvs.pfr.com/snils-by-additionalData/1.0.1`` with the СМЭВ commons
``urn://x-artefacts-smev-gov-ru/supplementary/commons/1.0.1`` for the name and the passport); the
``snils-by-data`` and ``snils-validation`` namespaces and every answer's inner names are guesses by
analogy (``docs/smev.md``). Builders and parsers for both sides, as in ``smev/zags.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.domain.civil import CivilPerson, SnilsAnswer, SnilsVerdict
from rserz_soap.domain.identifiers import format_snils, normalize_snils

__all__ = [
    "ADDITIONAL_NS",
    "BY_DATA_NS",
    "COMMONS_NS",
    "VALIDATION_NS",
    "answer",
    "parse_answer",
    "parse_request",
    "request",
]

ADDITIONAL_NS: Final = "http://kvs.pfr.com/snils-by-additionalData/1.0.1"
BY_DATA_NS: Final = "http://kvs.pfr.com/snils-by-data/1.0.1"
VALIDATION_NS: Final = "http://kvs.pfr.com/snils-validation/1.0.1"
COMMONS_NS: Final = "urn://x-artefacts-smev-gov-ru/supplementary/commons/1.0.1"
ROOTS: Final = {
    "SnilsByAdditionalDataRequest": ADDITIONAL_NS,
    "SnilsByDataRequest": BY_DATA_NS,
    "SnilsValidationRequest": VALIDATION_NS,
}
_GENDER: Final = {1: "Male", 2: "Female"}


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def request(kind: str, person: CivilPerson, *, snils: str | None = None) -> Any:
    """A request of ``kind`` (a key of :data:`ROOTS`) about ``person`` (and ``snils`` to validate)."""
    ns = ROOTS[kind]
    root = etree.Element(_q(ns, kind), nsmap={"tns": ns, "smev": COMMONS_NS})
    if kind == "SnilsValidationRequest":
        if not snils:
            raise ValueError("a validation request needs the СНИЛС")
        etree.SubElement(root, _q(ns, "Snils")).text = format_snils(normalize_snils(snils))
    etree.SubElement(root, _q(COMMONS_NS, "FamilyName")).text = person.fam
    etree.SubElement(root, _q(COMMONS_NS, "FirstName")).text = person.im
    if person.ot:
        etree.SubElement(root, _q(COMMONS_NS, "Patronymic")).text = person.ot
    etree.SubElement(root, _q(ns, "BirthDate")).text = person.dr.isoformat()
    if person.w in _GENDER:
        etree.SubElement(root, _q(ns, "Gender")).text = _GENDER[person.w]
    doc = person.document
    if kind == "SnilsByAdditionalDataRequest" and doc is not None and doc.doctype == 14:
        passport = etree.SubElement(root, _q(COMMONS_NS, "PassportRF"))
        etree.SubElement(passport, _q(COMMONS_NS, "Series")).text = (doc.docser or "").replace(" ", "")
        etree.SubElement(passport, _q(COMMONS_NS, "Number")).text = doc.docnum
    return root


def _text(parent: Any, ns: str, name: str) -> str | None:
    e = parent.find(_q(ns, name))
    return (e.text or "").strip() if e is not None else None


def parse_request(content: Any) -> tuple[str, CivilPerson, str | None, tuple[str, str] | None]:
    """(kind, person, СНИЛС to validate, passport (series, number)) of a request (the СФР side)."""
    kind = etree.QName(content).localname
    ns = ROOTS.get(kind)
    if ns is None or etree.QName(content).namespace != ns:
        raise ValueError(f"not a СФР request: {content.tag}")
    gender = _text(content, ns, "Gender")
    person = CivilPerson(
        fam=(_text(content, COMMONS_NS, "FamilyName") or "").upper(),
        im=(_text(content, COMMONS_NS, "FirstName") or "").upper(),
        ot=(_text(content, COMMONS_NS, "Patronymic") or "").upper() or None,
        dr=date.fromisoformat(_text(content, ns, "BirthDate") or ""),
        w={"Male": 1, "Female": 2}.get(gender or ""),
    )
    passport = content.find(_q(COMMONS_NS, "PassportRF"))
    pas = None
    if passport is not None:
        pas = (_text(passport, COMMONS_NS, "Series") or "", _text(passport, COMMONS_NS, "Number") or "")
    snils = _text(content, ns, "Snils")
    return kind, person, normalize_snils(snils) if snils else None, pas


def answer(kind: str, verdict: SnilsVerdict, snils: tuple[str, ...] = ()) -> Any:
    """The СФР answer to a request of ``kind``: the СНИЛС found (several for twins), or a validation result."""
    ns = ROOTS[kind]
    root = etree.Element(_q(ns, kind.replace("Request", "Response")), nsmap={"tns": ns})
    if kind == "SnilsValidationRequest":
        etree.SubElement(root, _q(ns, "ValidationResult")).text = (
            "true" if verdict is SnilsVerdict.FOUND else "false"
        )
        if verdict is SnilsVerdict.DIFFERS:
            etree.SubElement(root, _q(ns, "Reason")).text = "SNILS_BELONGS_TO_ANOTHER_PERSON"
        elif verdict is SnilsVerdict.NOT_FOUND:
            etree.SubElement(root, _q(ns, "Reason")).text = "SNILS_NOT_FOUND"
        return root
    if not snils:
        etree.SubElement(root, _q(ns, "NotFound")).text = "true"
    for s in snils:
        etree.SubElement(root, _q(ns, "Snils")).text = format_snils(s)
    return root


def parse_answer(content: Any) -> SnilsAnswer:
    local = etree.QName(content).localname
    ns = etree.QName(content).namespace or ""
    if local == "SnilsValidationResponse":
        if _text(content, ns, "ValidationResult") == "true":
            return SnilsAnswer(SnilsVerdict.FOUND)
        reason = _text(content, ns, "Reason")
        return SnilsAnswer(SnilsVerdict.NOT_FOUND if reason == "SNILS_NOT_FOUND" else SnilsVerdict.DIFFERS)
    found = tuple(normalize_snils(e.text or "") for e in content.iter(_q(ns, "Snils")))
    if not found:
        return SnilsAnswer(SnilsVerdict.NOT_FOUND)
    return SnilsAnswer(SnilsVerdict.FOUND if len(found) == 1 else SnilsVerdict.AMBIGUOUS, found)
