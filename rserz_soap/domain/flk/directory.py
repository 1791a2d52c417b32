"""The ФЛК error directory: every error code the hub can report, as data.

Why a directory and not constants in the rules: the wording a СМО reads in its FLK_P protocol, the field it
points at and — above all — whether an error rejects the record (``E``), only warns (``W``) or is switched
off (``N``) are decisions of the fund's operators, and they change with letters from ФФОМС far more often
than the checks themselves. So a rule in code knows only its code; everything the protocol says about the
error comes from here, and the bundled ``data/flk/errors.xml`` (or the ``flk_error`` table it is loaded
into) can be edited without a release.

Code scheme (the hub's logical codes; format codes are those of F012):

* ``8xx``/``9xx`` — format errors of F012 (package and file structure, duplicates in a file);
* ``1xx`` — the person: name, sex, birth, death, citizenship, category (``PERSON``);
* ``2xx`` — identity documents (``DOC``);
* ``3xx`` — personal identifiers: СНИЛС and ЕНП;
* ``4xx`` — insurance: СМО, policy, dates, МО, the application (``INSURANCE``/``POLIS``/``VIZIT``);
* ``5xx`` — the operation against the person's current state in the register.

The category table (``KATEG``) and the documents each category may hold live in
:mod:`rserz_soap.domain.categories`; they are re-exported here for the checks and the generated docs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any, Final

from rserz_soap.domain.categories import CATEGORIES, EAEU_COUNTRIES, CategoryGroup, category_group

__all__ = [
    "CATEGORIES",
    "EAEU_COUNTRIES",
    "GROUP_TITLES",
    "CategoryGroup",
    "DirectoryError",
    "ErrorDirectory",
    "ErrorEntry",
    "FlkError",
    "Kind",
    "Severity",
    "category_group",
    "render_markdown",
]


class Severity(StrEnum):
    """What an error does to the record: the protocol's verdict, chosen by the operator per code."""

    ERROR = "E"  # the record is rejected
    WARNING = "W"  # the record is accepted, the СМО is told
    OFF = "N"  # the rule is not run at all


class Kind(StrEnum):
    FORMAT = "format"  # F012: structure of the package and file
    LOGICAL = "logical"  # the hub's own content checks


class DirectoryError(ValueError):
    """The directory cannot be used: a duplicate code, or a rule whose code it lacks (a startup error)."""


@dataclass(frozen=True)
class FlkError:
    """One ``FLK_P/PR`` entry: ``OSHIB``, ``IM_POL``, ``BAS_EL``, ``N_REC``, ``COMMENT``, plus the verdict."""

    code: str
    field: str | None
    parent: str | None
    n_rec: int
    comment: str
    severity: Severity

    @property
    def rejects(self) -> bool:
        return self.severity is Severity.ERROR


@dataclass(frozen=True)
class ErrorEntry:
    """One error code as the protocol shows it: ``OSHIB``, ``IM_POL``, ``BAS_EL`` and the message."""

    code: str
    message: str
    field: str | None  # IM_POL: the element the error is about
    parent: str | None  # BAS_EL: its parent element
    severity: Severity
    kind: Kind

    @property
    def enabled(self) -> bool:
        return self.severity is not Severity.OFF

    def report(
        self, n_rec: int, detail: str = "", *, field: str | None = None, parent: str | None = None
    ) -> FlkError:
        """The protocol entry for record ``n_rec``: COMMENT is the message, then the concrete detail."""
        return FlkError(
            code=self.code,
            field=field or self.field,
            parent=parent or self.parent,
            n_rec=n_rec,
            comment=f"{self.message}: {detail}" if detail else self.message,
            severity=self.severity,
        )


class ErrorDirectory:
    """An immutable set of entries keyed by code; the ``with_*`` methods return a changed copy.

    ``issued`` is the date the directory's wording was decided (the file's header date). The database
    loader uses it to tell a newer file from an older one, so an operator's later edit survives a restart
    that loads the bundled file again.
    """

    def __init__(
        self, entries: Iterable[ErrorEntry], *, version: str | None = None, issued: date | None = None
    ) -> None:
        by_code: dict[str, ErrorEntry] = {}
        for entry in entries:
            if entry.code in by_code:
                raise DirectoryError(f"error code {entry.code} is listed twice")
            by_code[entry.code] = entry
        ordered = sorted(by_code.items(), key=lambda kv: _code_key(kv[0]))
        self._entries: Mapping[str, ErrorEntry] = dict(ordered)
        self.version = version
        self.issued = issued
        #: ``engine.verify_directory``'s memo: the rule registry this directory passed against, and the
        #: rules it enables with their entries (recomputed when a rule is registered)
        self.engine_memo: tuple[object, tuple[Any, ...]] | None = None

    def __getitem__(self, code: str) -> ErrorEntry:
        return self._entries[code]

    def __contains__(self, code: object) -> bool:
        return code in self._entries

    def __iter__(self) -> Iterator[ErrorEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ErrorDirectory):
            return NotImplemented
        return dict(self._entries) == dict(other._entries)

    __hash__ = None  # type: ignore[assignment]  # equality by content; not meant as a dict key

    def __repr__(self) -> str:
        return f"ErrorDirectory({len(self)} codes, version={self.version!r}, issued={self.issued!r})"

    def get(self, code: str) -> ErrorEntry | None:
        return self._entries.get(code)

    def error(
        self, code: str, *, n_rec: int, detail: str = "", field: str | None = None, parent: str | None = None
    ) -> FlkError:
        """A protocol entry for a code reported outside the rules (a refused transition, a wrong sender).

        The severity is the directory's; a caller that rejects the record anyway (a transition that
        refused) should say so in its own result rather than rely on it. An unknown code is a
        :class:`DirectoryError`: the wording of every code the hub can report must be in the directory.
        """
        entry = self._entries.get(code)
        if entry is None:
            raise DirectoryError(f"the ФЛК directory has no entry for code {code}")
        return entry.report(n_rec, detail, field=field, parent=parent)

    def codes(self, kind: Kind | None = None) -> set[str]:
        return {e.code for e in self if kind is None or e.kind is kind}

    def of_kind(self, kind: Kind) -> list[ErrorEntry]:
        return [e for e in self if e.kind is kind]

    def with_entry(self, entry: ErrorEntry) -> ErrorDirectory:
        """A copy with ``entry`` added or replacing the entry of the same code."""
        entries = {**self._entries, entry.code: entry}
        return ErrorDirectory(entries.values(), version=self.version, issued=self.issued)

    def with_severity(self, code: str, severity: Severity) -> ErrorDirectory:
        return self.with_entry(replace(self[code], severity=severity))

    def with_message(self, code: str, message: str) -> ErrorDirectory:
        return self.with_entry(replace(self[code], message=message))

    def without(self, code: str) -> ErrorDirectory:
        return ErrorDirectory((e for e in self if e.code != code), version=self.version, issued=self.issued)


def _code_key(code: str) -> tuple[bool, int, str]:
    return (not code.isdigit(), int(code) if code.isdigit() else 0, code)


# --------------------------------------------------------------------------- documentation

#: Titles of the logical code groups (first digit of the code), for people reading the directory.
GROUP_TITLES: Final[Mapping[str, str]] = {
    "1": "1xx — застрахованное лицо: ФИО, пол, рождение, смерть, гражданство, категория",
    "2": "2xx — документ, удостоверяющий личность",
    "3": "3xx — СНИЛС и ЕНП",
    "4": "4xx — страхование: СМО, полис, даты, МО, обращение",
    "5": "5xx — операция и текущее состояние ЗЛ в регистре",
}

_SEVERITY_TITLES: Final = {Severity.ERROR: "E", Severity.WARNING: "W", Severity.OFF: "N (выключена)"}


def render_markdown(directory: ErrorDirectory) -> str:
    """``docs/flk.md``: generated from the bundled file, and a test keeps the two equal."""
    lines = [
        "# ФЛК: справочник ошибок форматно-логического контроля",
        "",
        "<!-- Generated by tools/gen_flk_doc.py from rserz_soap/data/flk/errors.xml. Do not edit. -->",
        "",
        f"Версия справочника: {directory.version or '—'}"
        + (f", дата: {directory.issued.isoformat()}" if directory.issued else "")
        + f". Кодов: {len(directory)} (форматных: {len(directory.codes(Kind.FORMAT))}, "
        f"логических: {len(directory.codes(Kind.LOGICAL))}).",
        "",
        "Каждая входящая запись об операции (OPLIST `OP`, `submitOperations`) проходит все включённые",
        "проверки до того, как изменит регистр. Найденная ошибка попадает в протокол FLK_P как `PR`:",
        "`OSHIB` — код, `IM_POL` — поле, `BAS_EL` — родительский элемент, `N_REC` — номер записи,",
        "`COMMENT` — текст из справочника и конкретная причина.",
        "",
        "Критичность: **E** — запись отклоняется; **W** — запись принимается, СМО получает предупреждение;",
        "**N** — проверка выключена и не выполняется.",
        "",
        "## Как изменить текст или критичность без изменения кода",
        "",
        "Правило в коде знает только свой код; текст, поле, родительский элемент и критичность берутся из",
        "справочника. Чтобы перевести проверку в предупреждение или выключить её, измените `SEVERITY`",
        "(E/W/N) или `MESSAGE` кода в `rserz_soap/data/flk/errors.xml` и загрузите файл в таблицу",
        "`flk_error`, либо измените строку таблицы `flk_error` напрямую (команда `rserz` для этого появится",
        "позже). При загрузке файл обновляет только строки, изменённые раньше даты в его заголовке, поэтому",
        "более поздняя правка оператора не затирается при повторной загрузке того же файла; коды, которых",
        "нет в файле, остаются в таблице. Удалить код, на который зарегистрировано правило, нельзя: такой",
        "справочник не пройдёт проверку при запуске.",
        "",
        "Категории ЗЛ (`KATEG`) и допустимые для них типы документов F011 — данные в",
        "`rserz_soap/domain/categories.py` (`CATEGORIES`), а не ветвления в правилах; источник таблицы",
        "категорий — `docs/domain-sources.md`.",
        "",
    ]
    lines += ["## Форматные ошибки (F012)", ""]
    lines += _table(directory.of_kind(Kind.FORMAT))
    lines += ["## Логические ошибки", ""]
    logical = directory.of_kind(Kind.LOGICAL)
    for prefix, title in GROUP_TITLES.items():
        group = [e for e in logical if e.code.startswith(prefix) and len(e.code) == 3]
        if group:
            lines += [f"### {title}", ""]
            lines += _table(group)
    rest = [e for e in logical if not (len(e.code) == 3 and e.code[0] in GROUP_TITLES)]
    if rest:
        lines += ["### Прочие", ""]
        lines += _table(rest)
    lines += ["## Категории ЗЛ и допустимые документы", ""]
    lines += [
        "| KATEG | Категория | Работающий | Документы (F011) | Документ о праве на проживание |",
        "|---|---|---|---|---|",
    ]
    for kateg, category in CATEGORIES.items():
        kind = category.group
        working = {True: "да", False: "нет", None: "—"}[category.working]
        docs = "проверки по категории не выполняются"
        residence = "—"
        if kind is not None:
            docs = ", ".join(str(t) for t in sorted(kind.doc_types))
            residence = ", ".join(str(t) for t in sorted(kind.residence_types)) or "не требуется"
            if kind.residence_exempt:
                exempt = ", ".join(sorted(kind.residence_exempt))
                residence += f" (не требуется гражданам ЕАЭС: {exempt})"
        lines.append(f"| {kateg} | {category.title} | {working} | {docs} | {residence} |")
    lines.append("")
    return "\n".join(lines)


def _table(entries: list[ErrorEntry]) -> list[str]:
    rows = ["| Код | Крит. | IM_POL | BAS_EL | Сообщение |", "|---|---|---|---|---|"]
    for e in entries:
        message = e.message.replace("|", "\\|")
        rows.append(
            f"| {e.code} | {_SEVERITY_TITLES[e.severity]} | {e.field or ''} | {e.parent or ''} | {message} |"
        )
    rows.append("")
    return rows
