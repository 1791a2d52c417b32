"""1xx — the person: name, sex, birth, death, citizenship, category.

Name text rule (a decision of the project, after the FFOMS name rules): a name part may contain Cyrillic
letters (``Ё`` included), the space, the hyphen and the apostrophe (``'`` or ``’``: д’Артаньян). A dot is
*not* allowed: an initial ("А.") means the part is unknown, which ``DOST`` says properly. A part must not
start or end with a separator and must not have two separators in a row; each part is at most 40
characters (the width of the register's columns and of the federal format).

``DOST`` (FFOMS): 1 no patronymic, 2 no surname, 3 no first name, 4 only month and year of birth known,
5 only the year known, 6 the date does not fit the calendar. It is kept as a string of those digits; any
separators between them are tolerated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Final

from rserz_soap.domain.categories import Citizenship, category, category_group
from rserz_soap.domain.flk.rules import Finding, RuleContext, fmt_date, rule
from rserz_soap.domain.person import Sex
from rserz_soap.domain.records import Op

NAME_MAX_LENGTH: Final = 40
BIRTH_PLACE_MAX_LENGTH: Final = 100
EARLIEST_BIRTH_DATE: Final = date(1900, 1, 1)
RUSSIA: Final = "643"

_SEPARATORS: Final = " -'’"
_NAME_CHARS: Final = re.compile(r"[А-ЯЁа-яё \-'’]+")
_DOUBLE_SEPARATOR: Final = re.compile(r"[ \-'’]{2,}")
_DOST_CODES: Final = frozenset("123456")
_DOST_SEPARATORS: Final = frozenset(" ,;")
_DOST_MISSING: Final = {"FAM": "2", "IM": "3", "OT": "1"}

#: Patronymic endings and the sex they imply (longest first, so "-инична" is not read as "-ична" only).
PATRONYMIC_ENDINGS: Final[tuple[tuple[str, int], ...]] = (
    ("инична", Sex.FEMALE),
    ("ична", Sex.FEMALE),
    ("овна", Sex.FEMALE),
    ("евна", Sex.FEMALE),
    ("кызы", Sex.FEMALE),
    ("гызы", Sex.FEMALE),
    ("ович", Sex.MALE),
    ("евич", Sex.MALE),
    ("ич", Sex.MALE),
    ("оглы", Sex.MALE),
    ("улы", Sex.MALE),
)


def _part(ctx: RuleContext, part: str) -> str | None:
    person = ctx.record.person
    value = {"FAM": person.fam, "IM": person.im, "OT": person.ot}[part]
    return value or None


def _dost(ctx: RuleContext) -> set[str]:
    return {ch for ch in (ctx.record.person.dost or "") if ch in _DOST_CODES}


def _bad_chars(ctx: RuleContext, part: str) -> Iterator[Finding]:
    value = _part(ctx, part)
    if value is not None and not _NAME_CHARS.fullmatch(value):
        bad = "".join(dict.fromkeys(ch for ch in value if not _NAME_CHARS.fullmatch(ch)))
        yield Finding(f"«{value}»: недопустимые символы «{bad}»")


def _edge_separator(ctx: RuleContext, part: str) -> Iterator[Finding]:
    value = _part(ctx, part)
    if value is not None and (value[0] in _SEPARATORS or value[-1] in _SEPARATORS):
        yield Finding(f"«{value}»")


def _double_separator(ctx: RuleContext, part: str) -> Iterator[Finding]:
    value = _part(ctx, part)
    if value is not None and (match := _DOUBLE_SEPARATOR.search(value)):
        yield Finding(f"«{value}»: «{match.group()}» в позиции {match.start() + 1}")


def _too_long(ctx: RuleContext, part: str) -> Iterator[Finding]:
    value = _part(ctx, part)
    if value is not None and len(value) > NAME_MAX_LENGTH:
        yield Finding(
            f"«{value[:NAME_MAX_LENGTH]}…»: длина {len(value)}, допускается не более {NAME_MAX_LENGTH}"
        )


def _required(ctx: RuleContext, part: str) -> Iterator[Finding]:
    if _part(ctx, part) is None and _DOST_MISSING[part] not in _dost(ctx):
        yield Finding(f"{part} пусто, DOST «{ctx.record.person.dost or ''}» без кода {_DOST_MISSING[part]}")


@rule("101")
def surname_chars(ctx: RuleContext) -> Iterator[Finding]:
    return _bad_chars(ctx, "FAM")


@rule("102")
def first_name_chars(ctx: RuleContext) -> Iterator[Finding]:
    return _bad_chars(ctx, "IM")


@rule("103")
def patronymic_chars(ctx: RuleContext) -> Iterator[Finding]:
    return _bad_chars(ctx, "OT")


@rule("104")
def surname_edge(ctx: RuleContext) -> Iterator[Finding]:
    return _edge_separator(ctx, "FAM")


@rule("105")
def first_name_edge(ctx: RuleContext) -> Iterator[Finding]:
    return _edge_separator(ctx, "IM")


@rule("106")
def patronymic_edge(ctx: RuleContext) -> Iterator[Finding]:
    return _edge_separator(ctx, "OT")


@rule("107")
def surname_double_separator(ctx: RuleContext) -> Iterator[Finding]:
    return _double_separator(ctx, "FAM")


@rule("108")
def first_name_double_separator(ctx: RuleContext) -> Iterator[Finding]:
    return _double_separator(ctx, "IM")


@rule("109")
def patronymic_double_separator(ctx: RuleContext) -> Iterator[Finding]:
    return _double_separator(ctx, "OT")


@rule("110")
def surname_length(ctx: RuleContext) -> Iterator[Finding]:
    return _too_long(ctx, "FAM")


@rule("111")
def first_name_length(ctx: RuleContext) -> Iterator[Finding]:
    return _too_long(ctx, "IM")


@rule("112")
def patronymic_length(ctx: RuleContext) -> Iterator[Finding]:
    return _too_long(ctx, "OT")


@rule("113")
def surname_required(ctx: RuleContext) -> Iterator[Finding]:
    return _required(ctx, "FAM")


@rule("114")
def first_name_required(ctx: RuleContext) -> Iterator[Finding]:
    return _required(ctx, "IM")


@rule("115")
def part_present_though_missing(ctx: RuleContext) -> Iterator[Finding]:
    dost = _dost(ctx)
    for part, code in _DOST_MISSING.items():
        value = _part(ctx, part)
        if code in dost and value is not None:
            yield Finding(f"DOST содержит код {code}, но {part} указано: «{value}»", field=part)


@rule("116")
def dost_codes(ctx: RuleContext) -> Iterator[Finding]:
    dost = ctx.record.person.dost or ""
    bad = sorted({ch for ch in dost if ch not in _DOST_CODES and ch not in _DOST_SEPARATORS})
    if bad:
        yield Finding(f"«{dost}»: недопустимые символы «{''.join(bad)}», коды 1–6")


@rule("117")
def patronymic_vs_sex(ctx: RuleContext) -> Iterator[Finding]:
    person = ctx.record.person
    if not person.ot or person.w not in (Sex.MALE, Sex.FEMALE):
        return
    lowered = person.ot.lower()
    for ending, sex in PATRONYMIC_ENDINGS:
        if lowered.endswith(ending):
            if sex != person.w:
                implied = "мужской" if sex == Sex.MALE else "женский"
                yield Finding(f"«{person.ot}» указывает на {implied} пол, W={person.w}")
            return


@rule("118")
def sex_in_v005(ctx: RuleContext) -> Iterator[Finding]:
    w = ctx.record.person.w
    if not ctx.ref.sex(w, ctx.event_date):
        yield Finding(f"W={w} (V005 на {fmt_date(ctx.event_date)})")


@rule("119")
def birth_not_in_future(ctx: RuleContext) -> Iterator[Finding]:
    dr = ctx.record.person.dr
    if dr > ctx.today:
        yield Finding(f"DR {fmt_date(dr)} позже текущей даты {fmt_date(ctx.today)}")


@rule("120")
def birth_not_too_early(ctx: RuleContext) -> Iterator[Finding]:
    dr = ctx.record.person.dr
    if dr < EARLIEST_BIRTH_DATE:
        yield Finding(f"DR {fmt_date(dr)} раньше {fmt_date(EARLIEST_BIRTH_DATE)}")


@rule("121")
def death_date_required(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.op is Op.P022 and ctx.record.ddeath is None:
        yield Finding("операция П022 без DDEATH")


@rule("122")
def death_not_before_birth(ctx: RuleContext) -> Iterator[Finding]:
    ddeath, dr = ctx.record.ddeath, ctx.record.person.dr
    if ddeath is not None and ddeath < dr:
        yield Finding(f"DDEATH {fmt_date(ddeath)} раньше DR {fmt_date(dr)}")


@rule("123")
def death_not_in_future(ctx: RuleContext) -> Iterator[Finding]:
    ddeath = ctx.record.ddeath
    if ddeath is not None and ddeath > ctx.today:
        yield Finding(f"DDEATH {fmt_date(ddeath)} позже текущей даты {fmt_date(ctx.today)}")


@rule("124")
def death_only_in_p022(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.record.ddeath is not None and ctx.op is not None and ctx.op is not Op.P022:
        yield Finding(f"DDEATH {fmt_date(ctx.record.ddeath)} в операции {ctx.op.value}")


@rule("125")
def birth_place_length(ctx: RuleContext) -> Iterator[Finding]:
    mr = ctx.record.person.mr
    if mr is not None and len(mr) > BIRTH_PLACE_MAX_LENGTH:
        yield Finding(f"длина {len(mr)}, допускается не более {BIRTH_PLACE_MAX_LENGTH}")


@rule("126")
def birth_country_in_o001(ctx: RuleContext) -> Iterator[Finding]:
    oksm = ctx.record.person.birth_oksm
    if oksm and not ctx.ref.country(oksm, ctx.event_date):
        yield Finding(f"BIRTH_OKSM «{oksm}» (O001 на {fmt_date(ctx.event_date)})")


@rule("127")
def citizenship_in_o001(ctx: RuleContext) -> Iterator[Finding]:
    oksm = ctx.record.person.c_oksm
    if oksm and not ctx.ref.country(oksm, ctx.event_date):
        yield Finding(f"C_OKSM «{oksm}» (O001 на {fmt_date(ctx.event_date)})")


@rule("128")
def category_known(ctx: RuleContext) -> Iterator[Finding]:
    kateg = ctx.record.person.kateg
    if category(kateg) is None:
        yield Finding(f"KATEG={kateg}")


@rule("129")
def category_vs_citizenship(ctx: RuleContext) -> Iterator[Finding]:
    person = ctx.record.person
    group = category_group(person.kateg)
    if group is None:
        return  # 0 (unknown) says nothing to check; an unknown code is 128
    oksm = person.c_oksm or None
    fits = {
        Citizenship.RF: oksm == RUSSIA,
        Citizenship.FOREIGN: oksm is not None and oksm != RUSSIA,
        Citizenship.STATELESS: oksm is None,
        Citizenship.FOREIGN_OR_STATELESS: oksm != RUSSIA,
    }[group.citizenship]
    if not fits:
        shown = oksm if oksm is not None else "не указано (ЛБГ)"
        yield Finding(f"KATEG={person.kateg} ({group.title}), C_OKSM {shown}")
