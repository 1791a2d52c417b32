"""A person's card in the shapes the ФЕРЗЛ emulator stores: codec JSON, flat columns, federal status.

``encode_card`` gives the JSON structure of :func:`rserz_soap.domain.codec.encode` (so
``codec.decode(PersonCard, …)`` reads it back) but several times faster — the seed encodes a million
cards — without sorting set members (their order carries no meaning) and without the fields that
equal their default (``codec.decode`` restores those), which keeps the stored JSON a third smaller. ``flat_columns`` is the one
place that says which document is "main" and which policy is "latest" for the flat columns of
``fed_person``.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from enum import Enum
from typing import Any, Final

from rserz_soap.domain import codec
from rserz_soap.domain.federal import STATUS_TO_FEDERAL
from rserz_soap.domain.person import InsurancePeriod, PersonCard, Status

__all__ = [
    "FEDERAL_STATUS",
    "card_json",
    "decode_card",
    "encode_card",
    "federal_status",
    "flat_columns",
    "latest_policy",
]

#: The register's statuses as the federal side names them: the domain's one table (issue 13 found two
#: that disagreed on SUSPENDED, so reconciliation reported false differences).
FEDERAL_STATUS: Final[dict[Status, str]] = dict(STATUS_TO_FEDERAL)

_MISSING: Final = object()
#: per dataclass: (field name, its default or _MISSING) — fields equal to their default are left out
_FIELDS: dict[type, tuple[tuple[str, Any], ...]] = {}
_SCALARS: Final = (str, int, float, bool, type(None))


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return _MISSING


def _encode(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is date:
        return value.isoformat()
    if kind in (frozenset, tuple, list, set):
        return [_encode(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    names = _FIELDS.get(kind)
    if names is None:
        if not (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            return codec.encode(value)
        names = _FIELDS[kind] = tuple((f.name, _default(f)) for f in dataclasses.fields(value))
    out = {}
    for name, default in names:
        item = getattr(value, name)
        if item is default or (default is not _MISSING and item == default):
            continue
        out[name] = _encode(item)
    return out


def encode_card(card: PersonCard) -> dict[str, Any]:
    """The card as JSON-ready data (codec structure; set members in no particular order)."""
    encoded: dict[str, Any] = _encode(card)
    return encoded


def card_json(card: PersonCard) -> str:
    return json.dumps(encode_card(card), ensure_ascii=False, separators=(",", ":"))


def decode_card(data: Any) -> PersonCard:
    """A card from its stored JSON (a dict from jsonb, or the text)."""
    return codec.decode(PersonCard, json.loads(data) if isinstance(data, str) else data)


def federal_status(card: PersonCard) -> str:
    return FEDERAL_STATUS[card.status]


def latest_policy(card: PersonCard) -> InsurancePeriod | None:
    """The policy with the latest beginning (an open one wins a tie)."""
    if not card.insurance:
        return None
    return max(card.insurance, key=lambda p: (p.dbeg, p.dstop is None, p.npolis))


def _earlier(a: date | None, b: date | None) -> date | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def flat_columns(card: PersonCard) -> dict[str, Any]:
    """The flat columns of ``fed_person`` for ``card`` (without enp, region, card, version_no)."""
    d = card.data
    doc = card.main_document()
    pol = latest_policy(card)
    return {
        "status": federal_status(card),
        "fam": d.fam or None,
        "im": d.im or None,
        "ot": d.ot or None,
        "sex": d.w,
        "birth_date": d.dr,
        "birth_place": d.mr,
        "snils": d.ss,
        "death_date": card.ddeath,
        "doc_type": doc.doctype if doc else None,
        "doc_ser": doc.docser if doc else None,
        "doc_num": doc.docnum if doc else None,
        "doc_date": doc.docdate if doc else None,
        "doc_issuer": doc.name_vp if doc else None,
        "smo": pol.smo_code if pol else None,
        "policy_type": pol.vpolis if pol else None,
        "policy_ser": pol.spolis if pol else None,
        "policy_num": pol.npolis if pol else None,
        "policy_begin": pol.dbeg if pol else None,
        "policy_date_end": pol.dend if pol else None,
        "policy_date_stop": pol.dstop if pol else None,
        "policy_stop_reason": pol.stop_reason if pol else None,
        "policy_okato": pol.ter_st if pol else None,
        "policy_end": _earlier(pol.dend, pol.dstop) if pol else None,
    }
