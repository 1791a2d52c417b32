"""2xx — identity documents: type, masks, dates, age limits, category, residence right, uniqueness.

Masks are taken from the F011 version valid on the document's issue date (the type 11 number changed
shape in 2020, and a permit issued in 2015 keeps its old number). When the record gives no issue date, or
F011 has no version on that date (the bundled history starts in 2011, passports are older), the version
valid on the event date is used.

Ages (ПП РФ № 828 on the RF passport; the birth certificate is the identity document of a child under 14):
a birth certificate is accepted until 30 days after the 14th birthday, the time a family has to get the
first passport; a passport is issued from 14; one issued before the 20th birthday must be replaced within
90 days after it, one issued before the 45th within 90 days after that.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Final

from rserz_soap.domain.categories import category_group
from rserz_soap.domain.documents import mask_matches
from rserz_soap.domain.flk.reference import DocTypeRef
from rserz_soap.domain.flk.rules import Finding, RuleContext, add_years, fmt_date, plus, rule
from rserz_soap.domain.flk.rules_person import RUSSIA
from rserz_soap.domain.person import Document

BIRTH_CERTIFICATE: Final = 3
RF_PASSPORT: Final = 14
#: Documents whose validity depends on the issue date, so DOCDATE is needed to check them.
DATED_TYPES: Final = frozenset({BIRTH_CERTIFICATE, RF_PASSPORT})

PASSPORT_FROM_AGE: Final = 14
BIRTH_CERTIFICATE_GRACE: Final = timedelta(days=30)
PASSPORT_REPLACEMENT_AGES: Final = (20, 45)
PASSPORT_REPLACEMENT_GRACE: Final = timedelta(days=90)


def _mask_version(ctx: RuleContext, doc: Document) -> tuple[DocTypeRef, date] | None:
    """The F011 entry whose masks apply to ``doc`` and the date it was taken on."""
    if doc.docdate is not None:
        ref = ctx.ref.document_type(doc.doctype, doc.docdate)
        if ref is not None:
            return ref, doc.docdate
    ref = ctx.ref.document_type(doc.doctype, ctx.event_date)
    return (ref, ctx.event_date) if ref is not None else None


def _where(doc: Document, on: date) -> str:
    return f"F011, тип {doc.doctype}, на {fmt_date(on)}"


@rule("201")
def document_present(ctx: RuleContext) -> Iterator[Finding]:
    if not any(d.is_main for d in ctx.record.documents):
        yield Finding("в записи нет основного документа (DOC)")


@rule("202")
def document_type_in_f011(ctx: RuleContext) -> Iterator[Finding]:
    for doc in ctx.record.documents:
        if ctx.ref.document_type(doc.doctype, ctx.event_date) is None:
            yield Finding(f"DOCTYPE={doc.doctype} ({_where(doc, ctx.event_date)})")


@rule("203")
def series_mask(ctx: RuleContext) -> Iterator[Finding]:
    for doc in ctx.record.documents:
        found = _mask_version(ctx, doc)
        if found is None or not found[0].ser_mask:
            continue  # unknown type: 202; empty mask: the series is free text and may be absent
        ref, on = found
        if not mask_matches(ref.ser_mask, doc.docser):
            yield Finding(
                f"Серия «{doc.docser or ''}» не соответствует маске «{ref.ser_mask}» ({_where(doc, on)})"
            )


@rule("204")
def number_mask(ctx: RuleContext) -> Iterator[Finding]:
    for doc in ctx.record.documents:
        found = _mask_version(ctx, doc)
        if found is None:
            continue
        ref, on = found
        if not mask_matches(ref.num_mask, doc.docnum):
            mask = f"маске «{ref.num_mask}»" if ref.num_mask else "обязательному непустому значению"
            yield Finding(f"Номер «{doc.docnum}» не соответствует {mask} ({_where(doc, on)})")


@rule("205")
def issued_not_before_birth(ctx: RuleContext) -> Iterator[Finding]:
    dr = ctx.record.person.dr
    for doc in ctx.record.documents:
        if doc.docdate is not None and doc.docdate < dr:
            yield Finding(f"DOCDATE {fmt_date(doc.docdate)} раньше DR {fmt_date(dr)} (тип {doc.doctype})")


@rule("206")
def issued_not_in_future(ctx: RuleContext) -> Iterator[Finding]:
    for doc in ctx.record.documents:
        if doc.docdate is not None and doc.docdate > ctx.today:
            yield Finding(f"DOCDATE {fmt_date(doc.docdate)} позже текущей даты {fmt_date(ctx.today)}")


@rule("207")
def expiry_after_issue(ctx: RuleContext) -> Iterator[Finding]:
    for doc in ctx.record.documents:
        if doc.docdate is not None and doc.docexp is not None and doc.docexp < doc.docdate:
            yield Finding(f"DOCEXP {fmt_date(doc.docexp)} раньше DOCDATE {fmt_date(doc.docdate)}")


@rule("208")
def not_expired(ctx: RuleContext) -> Iterator[Finding]:
    for doc in ctx.record.documents:
        if doc.docexp is not None and doc.docexp < ctx.event_date:
            yield Finding(
                f"тип {doc.doctype}: DOCEXP {fmt_date(doc.docexp)}, дата события {fmt_date(ctx.event_date)}"
            )


@rule("209")
def issue_date_for_dated_types(ctx: RuleContext) -> Iterator[Finding]:
    for doc in ctx.record.documents:
        if doc.doctype in DATED_TYPES and doc.docdate is None:
            yield Finding(f"тип {doc.doctype} без DOCDATE")


@rule("210")
def birth_certificate_age(ctx: RuleContext) -> Iterator[Finding]:
    dr = ctx.record.person.dr
    limit = plus(add_years(dr, PASSPORT_FROM_AGE), BIRTH_CERTIFICATE_GRACE)
    if ctx.event_date > limit and any(d.doctype == BIRTH_CERTIFICATE for d in ctx.record.documents):
        yield Finding(
            f"DR {fmt_date(dr)}: свидетельство о рождении принимается по {fmt_date(limit)}, "
            f"дата события {fmt_date(ctx.event_date)}"
        )


@rule("211")
def passport_age(ctx: RuleContext) -> Iterator[Finding]:
    dr = ctx.record.person.dr
    fourteen = add_years(dr, PASSPORT_FROM_AGE)
    for doc in ctx.record.documents:
        if doc.doctype == RF_PASSPORT and doc.docdate is not None and doc.docdate < fourteen:
            yield Finding(f"DOCDATE {fmt_date(doc.docdate)}, 14 лет исполняется {fmt_date(fourteen)}")


@rule("212")
def passport_replaced_in_time(ctx: RuleContext) -> Iterator[Finding]:
    dr = ctx.record.person.dr
    for doc in ctx.record.documents:
        if doc.doctype != RF_PASSPORT or doc.docdate is None:
            continue
        for age in PASSPORT_REPLACEMENT_AGES:
            birthday = add_years(dr, age)
            if doc.docdate < birthday:
                valid_to = plus(birthday, PASSPORT_REPLACEMENT_GRACE)
                if ctx.event_date > valid_to:
                    yield Finding(
                        f"паспорт выдан {fmt_date(doc.docdate)} до {age} лет, действителен по "
                        f"{fmt_date(valid_to)}, дата события {fmt_date(ctx.event_date)}"
                    )
                break


@rule("213")
def type_allowed_for_category(ctx: RuleContext) -> Iterator[Finding]:
    kateg = ctx.record.person.kateg
    group = category_group(kateg)
    if group is None:
        return  # 0 (unknown) has no document rules; an unknown code is 128
    for doc in ctx.record.documents:
        if doc.doctype not in group.doc_types:
            allowed = ", ".join(str(t) for t in sorted(group.doc_types))
            yield Finding(f"тип {doc.doctype} при KATEG={kateg} ({group.title}); допустимы: {allowed}")


@rule("214")
def residence_document(ctx: RuleContext) -> Iterator[Finding]:
    person = ctx.record.person
    group = category_group(person.kateg)
    if group is None or not group.residence_types or person.c_oksm == RUSSIA:
        return
    if person.c_oksm in group.residence_exempt:
        return  # an EAEU worker stays on the labour contract, without a residence permit
    if not any(d.doctype in group.residence_types for d in ctx.record.documents):
        needed = ", ".join(str(t) for t in sorted(group.residence_types))
        yield Finding(f"KATEG={person.kateg} ({group.title}): нужен документ типа {needed}")


@rule("215")
def document_unique(ctx: RuleContext) -> Iterator[Finding]:
    for doc in ctx.record.documents:
        if ctx.others(ctx.ref.document_owners(doc.key)):
            yield Finding(f"тип {doc.doctype} «{doc.docser or ''} {doc.docnum}» уже в регистре у другого ЗЛ")
