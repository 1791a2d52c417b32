"""A военкомат list as the register reads it: the list's header, its rows, and the codes a row or a file gets.

The layout (columns, the XML, CSV and XLSX forms) is ``docs/military.md``: no public layout of such a list
exists, so the layout is ours and kept small. A row names a person (ФИО, birth date, identity document,
СНИЛС), the service (start and end dates) and whether the person enters or leaves it.

Codes (``MIL-…``): 0xx a file that cannot be used as a whole (nothing of it is applied), 1xx a row that
fails its own check (the row is rejected, its neighbours go on), 2xx what applying a checked row came to.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Final

from rserz_soap.domain.codec import encode
from rserz_soap.domain.identifiers import is_valid_snils, normalize_snils

#: one namespace for every list id: the same list (военкомат, number, date) is one id for ever
LIST_NAMESPACE: Final = uuid.UUID("6d0c1d3e-8f8a-4b8e-9a55-6c5f0b1e7a31")


class Kind(StrEnum):
    ENTERING = "entering"  # призыв / поступление на службу: insurance suspended from the start date
    LEAVING = "leaving"  # увольнение: insurance resumed from the end date


#: how a list may write the kind (case-insensitive)
KIND_WORDS: Final[dict[str, Kind]] = {
    "entering": Kind.ENTERING,
    "in": Kind.ENTERING,
    "призыв": Kind.ENTERING,
    "поступление": Kind.ENTERING,
    "1": Kind.ENTERING,
    "leaving": Kind.LEAVING,
    "out": Kind.LEAVING,
    "увольнение": Kind.LEAVING,
    "2": Kind.LEAVING,
}

# -- codes ---------------------------------------------------------------------------------------------------

FILE_UNREADABLE = "MIL-001"  # not XML, CSV or XLSX; a required column or element missing
FILE_HOSTILE = "MIL-002"  # not well-formed XML, a DOCTYPE or entity, macros, anything a parser must not run
FILE_ENCODING = "MIL-003"  # neither UTF-8 nor windows-1251, or control characters in the text
FILE_TOO_LARGE = "MIL-004"  # over the size, row or decompression limits
FILE_HEADER = "MIL-005"  # the list's number, date or военкомат missing or not the same on every row
LIST_CONFLICT = "MIL-006"  # this list (военкомат, number, date) was imported before with other content

ROW_MISSING = "MIL-101"  # a required field is empty
ROW_DATE = "MIL-102"  # a date that is not a date (YYYY-MM-DD or DD.MM.YYYY), or out of range
ROW_DOCUMENT = "MIL-103"  # document type not a number of F011, or no number
ROW_SNILS = "MIL-104"  # СНИЛС with a wrong check number
ROW_KIND = "MIL-105"  # kind neither entering nor leaving
ROW_DATES = "MIL-106"  # service end before its start, a start in the future, birth after the start
ROW_TEXT = "MIL-107"  # characters a name or a document cannot hold (a formula, control characters)
ROW_REPEATED = "MIL-108"  # the same person twice in one list

SUSPENDED = "MIL-200"  # insurance suspended (ФЕРЗЛ and the register)
RESUMED = "MIL-201"  # insurance resumed (ФЕРЗЛ and the register)
ALREADY = "MIL-202"  # nothing to do: suspended (or resumed) already
NOT_FOUND = "MIL-210"  # no person of the register matches: in the buffer for an operator
AMBIGUOUS = "MIL-211"  # several persons match: in the buffer for an operator
NOT_SUSPENDED = "MIL-212"  # leaving, but the person's insurance is not suspended: in the buffer
STATUS_FORBIDS = "MIL-213"  # the person is dead, merged or annulled: in the buffer
FEDERAL_REFUSED = "MIL-220"  # ФЕРЗЛ refused the suspension or the restoration: nothing changed here

MESSAGES: Final[dict[str, str]] = {
    FILE_UNREADABLE: "файл не является списком военкомата (XML, CSV или XLSX по docs/military.md)",
    FILE_HOSTILE: "файл отклонён: недопустимая XML-конструкция или повреждённый файл",
    FILE_ENCODING: "кодировка файла не UTF-8 и не windows-1251",
    FILE_TOO_LARGE: "файл превышает допустимый размер",
    FILE_HEADER: "не указаны номер, дата списка или военкомат (или они разные в строках)",
    LIST_CONFLICT: "список с этим номером и датой уже загружен с другим содержимым",
    ROW_MISSING: "не заполнено обязательное поле",
    ROW_DATE: "неверная дата",
    ROW_DOCUMENT: "неверный документ",
    ROW_SNILS: "неверное контрольное число СНИЛС",
    ROW_KIND: "неверный вид записи (призыв/увольнение)",
    ROW_DATES: "даты службы противоречивы",
    ROW_TEXT: "недопустимые символы",
    ROW_REPEATED: "лицо повторяется в списке",
    SUSPENDED: "страхование приостановлено",
    RESUMED: "страхование возобновлено",
    ALREADY: "изменений нет: уже применено",
    NOT_FOUND: "лицо не найдено в регистре: передано на рассмотрение ТФОМС",
    AMBIGUOUS: "найдено несколько лиц: передано на рассмотрение ТФОМС",
    NOT_SUSPENDED: "страхование лица не приостановлено: передано на рассмотрение ТФОМС",
    STATUS_FORBIDS: "статус лица не допускает изменения: передано на рассмотрение ТФОМС",
    FEDERAL_REFUSED: "ФЕРЗЛ отказал",
}

#: protocol statuses
ST_SUSPENDED, ST_RESUMED, ST_ALREADY, ST_HELD, ST_REJECTED, ST_REFUSED = (
    "suspended",
    "resumed",
    "already",
    "held",
    "rejected",
    "refused",
)


class MilitaryFileError(ValueError):
    """A list that cannot be used as a whole: its code and a message an operator can act on."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code} {MESSAGES[code]}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class ListHeader:
    """Which list: the военкомат (its code and name), the list's number and date."""

    commissariat: str
    number: str
    list_date: date
    commissariat_name: str | None = None

    @property
    def key(self) -> str:
        return f"{self.commissariat}|{self.number}|{self.list_date.isoformat()}"

    @property
    def list_id(self) -> uuid.UUID:
        return uuid.uuid5(LIST_NAMESPACE, self.key)


@dataclass(frozen=True)
class ServiceRow:
    """One checked row: a person entering or leaving military (or equivalent) service."""

    n: int  # the row's number in the list (1-based, as the protocol echoes it)
    kind: Kind
    fam: str
    im: str
    ot: str | None
    dr: date
    doctype: int
    docser: str | None
    docnum: str
    snils: str | None
    start: date | None  # required for entering
    end: date | None  # required for leaving; for entering the planned end, if known
    w: int = 1

    @property
    def months(self) -> int:
        """The service's term in months (``milSvc/termInMonths``): from the dates, else the conscript's 12."""
        if self.start is None or self.end is None:
            return 12
        return max(1, (self.end.year - self.start.year) * 12 + self.end.month - self.start.month)


@dataclass(frozen=True)
class RowError:
    """A row that failed its own check: rejected with its code, the others go on."""

    n: int
    code: str
    message: str


@dataclass(frozen=True)
class MilitaryList:
    header: ListHeader
    rows: tuple[ServiceRow, ...]
    errors: tuple[RowError, ...] = ()
    source_format: str = ""

    def fingerprint(self) -> str:
        """The content's digest: the same list sent as CSV and as XLSX is the same list."""
        body = json.dumps(
            encode({"header": self.header, "rows": self.rows, "errors": self.errors}),
            ensure_ascii=False,
            sort_keys=True,
        )
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class ProtocolLine:
    """One row's answer: what became of it, with its code."""

    n: int
    status: str  # suspended | resumed | already | held | rejected | refused
    code: str
    message: str
    kind: str | None = None
    enp: str | None = None
    buffer_entry: int | None = None


@dataclass(frozen=True)
class ImportProtocol:
    """The answer to one list, stored once; a repeated import gets it back (``repeat``)."""

    list_key: str
    commissariat: str
    number: str
    list_date: date
    file_name: str | None
    lines: tuple[ProtocolLine, ...]
    repeat: bool = False
    counts: dict[str, int] = field(default_factory=dict)


# -- row checks ---------------------------------------------------------------------------------------------

#: a name: letters (Cyrillic, Latin), spaces, hyphens, apostrophes, dots — never a formula or markup
NAME_RE: Final = re.compile(r"^[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё .'’\-]{0,59}$")
DOC_RE: Final = re.compile(r"^[0-9A-Za-zА-Яа-яЁё \-]{1,20}$")
_DATE_RES: Final = (
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), (1, 2, 3)),
    (re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$"), (3, 2, 1)),
)


class _RowProblem(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def parse_date(value: str | date | None, what: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    text = value.strip()
    for pattern, (y, m, d) in _DATE_RES:
        found = pattern.match(text)
        if found:
            try:
                return date(int(found.group(y)), int(found.group(m)), int(found.group(d)))
            except ValueError:
                break
    raise _RowProblem(ROW_DATE, f"{what}: не дата")


def _name(value: str | None, what: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise _RowProblem(ROW_MISSING, what)
        return None
    if not NAME_RE.match(text):
        raise _RowProblem(ROW_TEXT, f"{what}: допустимы буквы, пробел, дефис, апостроф")
    return text


def check_row(n: int, raw: dict[str, str | date | None], *, today: date) -> ServiceRow:
    """One row of any form (its values by column name) checked; :class:`RowError`'s code via the caller."""

    def text(name: str) -> str:
        v = raw.get(name)
        if isinstance(v, date):
            return v.isoformat()
        return (v or "").strip()

    fam = _name(text("FAM"), "FAM", required=True)
    im = _name(text("IM"), "IM", required=True)
    ot = _name(text("OT"), "OT", required=False)
    kind_word = text("KIND").lower()
    if not kind_word:
        raise _RowProblem(ROW_MISSING, "KIND")
    kind = KIND_WORDS.get(kind_word)
    if kind is None:
        raise _RowProblem(ROW_KIND, "KIND: entering/leaving (призыв/увольнение)")
    dr = parse_date(raw.get("DR"), "DR")
    if dr is None:
        raise _RowProblem(ROW_MISSING, "DR")
    doctype_text, docser, docnum = text("DOCTYPE"), text("DOCSER") or None, text("DOCNUM")
    if not doctype_text or not docnum:
        raise _RowProblem(ROW_MISSING, "DOCTYPE" if not doctype_text else "DOCNUM")
    if not doctype_text.isdigit() or not 1 <= int(doctype_text) <= 99:
        raise _RowProblem(ROW_DOCUMENT, "DOCTYPE: код F011")
    for what, value in (("DOCSER", docser), ("DOCNUM", docnum)):
        if value is not None and not DOC_RE.match(value):
            raise _RowProblem(ROW_TEXT, f"{what}: допустимы буквы, цифры, пробел, дефис")
    snils_text = text("SNILS")
    snils = None
    if snils_text:
        if not re.fullmatch(r"[0-9 \-]{11,14}", snils_text) or not is_valid_snils(snils_text):
            raise _RowProblem(ROW_SNILS, "SNILS")
        snils = normalize_snils(snils_text)
    start = parse_date(raw.get("DSTART"), "DSTART")
    end = parse_date(raw.get("DEND"), "DEND")
    if kind is Kind.ENTERING and start is None:
        raise _RowProblem(ROW_MISSING, "DSTART")
    if kind is Kind.LEAVING and end is None:
        raise _RowProblem(ROW_MISSING, "DEND")
    for what, d in (("DR", dr), ("DSTART", start), ("DEND", end)):
        if d is not None and not date(1900, 1, 1) <= d <= date(2100, 12, 31):
            raise _RowProblem(ROW_DATE, f"{what}: вне допустимого диапазона")
    if start is not None and end is not None and end < start:
        raise _RowProblem(ROW_DATES, "DEND раньше DSTART")
    if start is not None and (start < dr or start > today):
        raise _RowProblem(ROW_DATES, "DSTART раньше рождения или в будущем")
    if kind is Kind.LEAVING and end is not None and end > today:
        raise _RowProblem(ROW_DATES, "DEND в будущем: список увольняемых подаётся после увольнения")
    assert fam is not None and im is not None
    return ServiceRow(
        n, kind, fam, im, ot, dr, int(doctype_text), docser, docnum.replace(" ", ""), snils, start, end
    )


def check_rows(
    header: ListHeader, raws: list[dict[str, str | date | None]], *, today: date, source_format: str
) -> MilitaryList:
    """Every row checked; a failing row becomes a :class:`RowError`, the same person twice is refused."""
    rows: list[ServiceRow] = []
    errors: list[RowError] = []
    seen: set[tuple[int, str, str]] = set()
    for n, raw in enumerate(raws, start=1):
        try:
            row = check_row(n, raw, today=today)
        except _RowProblem as problem:
            errors.append(RowError(n, problem.code, f"{MESSAGES[problem.code]}: {problem.detail}"))
            continue
        key = (row.doctype, (row.docser or "").replace(" ", "").upper(), row.docnum)
        if key in seen:
            errors.append(RowError(n, ROW_REPEATED, f"{MESSAGES[ROW_REPEATED]}: документ уже был выше"))
            continue
        seen.add(key)
        rows.append(row)
    return MilitaryList(header, tuple(rows), tuple(errors), source_format)


def header_of(values: dict[str, str | date | None]) -> ListHeader:
    """The list's header from its fields (VK_CODE, VK_NAME, LIST_NUM, LIST_DATE); MIL-005 if incomplete."""
    code = str(values.get("VK_CODE") or "").strip()
    number = str(values.get("LIST_NUM") or "").strip()
    try:
        when = parse_date(values.get("LIST_DATE"), "LIST_DATE")
    except _RowProblem:
        when = None
    if not code or not number or when is None:
        raise MilitaryFileError(FILE_HEADER, "VK_CODE, LIST_NUM, LIST_DATE")
    for what, value in (("VK_CODE", code), ("LIST_NUM", number)):
        if not re.fullmatch(r"[0-9A-Za-zА-Яа-яЁё/\-_. ]{1,40}", value):
            raise MilitaryFileError(FILE_HEADER, f"{what}: допустимы буквы, цифры, / - _ .")
    name = str(values.get("VK_NAME") or "").strip() or None
    if name is not None and (len(name) > 200 or not re.fullmatch(r"[^=+@\x00-\x1f][^\x00-\x1f]*", name)):
        raise MilitaryFileError(FILE_HEADER, "VK_NAME: недопустимые символы")
    return ListHeader(code, number, when, name)
