"""How the console says things in Russian: field, state and category names, dates, the navigation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Flask, request, url_for

from rserz_soap.domain.access import (
    EVENT_TITLES,
    PERMISSION_TITLES,
    PLANNED,
    ROLE_TITLES,
    Event,
    Permission,
    Role,
)

FIELD_TITLES = {
    "fam": "Фамилия",
    "im": "Имя",
    "ot": "Отчество",
    "w": "Пол",
    "dr": "Дата рождения",
    "dost": "Надёжность (DOST)",
    "mr": "Место рождения",
    "birth_oksm": "Страна рождения",
    "c_oksm": "Гражданство",
    "kateg": "Категория",
    "ss": "СНИЛС",
    "phone": "Телефон",
    "email": "Эл. почта",
    "document": "Документ (УДЛ)",
    "smo": "СМО",
    "ddeath": "Дата смерти",
    "status": "Статус",
    "doctype": "Тип документа",
    "docser": "Серия",
    "docnum": "Номер",
    "docdate": "Дата выдачи",
    "docexp": "Действует до",
    "name_vp": "Кем выдан",
    "is_main": "Основной",
    "smo_code": "СМО",
    "enp": "ЕНП",
    "vpolis": "Вид полиса",
    "spolis": "Серия полиса",
    "npolis": "Номер полиса",
    "dbeg": "Начало",
    "dend": "Окончание (план)",
    "dstop": "Прекращение",
    "stop_reason": "Причина прекращения",
    "mo_code": "МО",
    "area_type": "Тип участка",
    "date_in": "Прикреплён с",
    "date_out": "Откреплён с",
    "*": "ЗЛ целиком",
}

ASPECT_TITLES = {
    "data": "данные",
    "documents": "документы",
    "addresses": "адреса",
    "insurance": "страхование",
    "attachments": "прикрепления",
}

STATUS_TITLES = {
    "insured": "застрахован",
    "not_insured": "не застрахован",
    "suspended": "страхование приостановлено",
    "dead": "умер",
    "annulled": "аннулирован",
    "merged": "объединён с другим ЗЛ",
}

BUFFER_STATE_TITLES = {
    "received": "получено",
    "checked": "проверено",
    "awaiting_review": "ждёт решения",
    "accepted": "принято",
    "awaiting_federal": "ждёт ФЕРЗЛ",
    "rejected": "отклонено",
    "applied": "применено",
}

CATEGORY_TITLES = {
    "missing_regionally": "нет в регионе",
    "missing_federally": "нет в ФЕРЗЛ",
    "differs": "расхождение",
    "accepted_deviation": "принятое отклонение",
}

RESOLUTION_TITLES = {
    "applied": "исправлено по ФЕРЗЛ",
    "review": "на рассмотрение",
    "reported": "в отчёт",
    "pinned": "закреплено",
}

POLICY_TITLES = {
    "federal_wins": "ФЕРЗЛ прав (исправлять, кроме закреплённого)",
    "review": "всё на рассмотрение",
    "report": "только отчёт",
}

RUN_STATE_TITLES = {"running": "идёт", "done": "завершена", "failed": "ошибка", "cancelled": "отменена"}

OUTCOME_TITLES = {"success": "успех", "failure": "неудача", "denied": "отказ"}

SOURCE_TITLES = {
    "smo": "СМО",
    "mo": "МО",
    "ferzl": "ФЕРЗЛ",
    "operator": "оператор ТФОМС",
    "tfoms": "ТФОМС",
    "zags": "ЗАГС",
    "sfr": "СФР",
    "military": "военкомат",
    "seed": "начальная загрузка",
}

OPERATION_TITLES = {
    "MANUAL_FEDERAL": "ручное: по данным ФЕРЗЛ",
    "MANUAL_DEVIATION": "ручное: умышленное отклонение",
    "MERGE": "объединение дублей",
    "UNMERGE": "разъединение",
    "SEED": "начальная загрузка",
}


@dataclass(frozen=True)
class NavItem:
    title: str
    endpoint: str | None  # None: a planned function, shown but not a link
    permission: Permission
    key: str  # the second key of "g <key>"
    note: str = ""


NAVIGATION: tuple[NavItem, ...] = (
    NavItem("Сводка", "dashboard.index", Permission.DASHBOARD, "d"),
    NavItem("Поиск", "persons.search", Permission.PERSON_SEARCH, "s"),
    NavItem("Буфер", "buffer.index", Permission.BUFFER_VIEW, "b"),
    NavItem("Сверка", "reconcile.index", Permission.RECONCILE_VIEW, "r"),
    NavItem("Протокол обмена", "journals.exchange", Permission.EXCHANGE_JOURNAL, "e"),
    NavItem("Журнал безопасности", "journals.security", Permission.SECURITY_LOG, "l"),
    NavItem("Задания", "jobs.index", Permission.JOBS_VIEW, "j"),
    NavItem("Срезы", "reference.snapshots_index", Permission.SNAPSHOTS_VIEW, "n"),
    NavItem("Суточные файлы", None, Permission.DAILY_FILES, "", PLANNED[Permission.DAILY_FILES]),
    NavItem("НСИ", "reference.nsi_index", Permission.NSI_VIEW, "i"),
    NavItem("Участники", "reference.participants_index", Permission.PARTICIPANTS_VIEW, "p"),
    NavItem("Пользователи", "users.index", Permission.USERS_MANAGE, "u"),
    NavItem("Настройки", "users.settings", Permission.SETTINGS_VIEW, "c"),
    NavItem("Резервные копии", None, Permission.BACKUPS, "", PLANNED[Permission.BACKUPS]),
)


def fmt_date(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return value.astimezone().strftime("%d.%m.%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d.%m.%Y")
        except ValueError:
            return value
    return str(value)


def fmt_value(value: Any) -> str:
    """A card value as a person reads it (an encoded document as type, series and number)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict) and "docnum" in value:
        parts = [str(value.get("doctype") or ""), value.get("docser") or "", value.get("docnum") or ""]
        return " ".join(p for p in parts if p)
    if isinstance(value, (date, datetime)):
        return fmt_date(value)
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return fmt_date(value)
    return str(value)


def fmt_number(value: Any) -> str:
    return f"{int(value):,}".replace(",", "\u202f") if value is not None else "—"


def fmt_snils(value: str | None) -> str:
    if not value or len(value) != 11 or not value.isdigit():
        return value or "—"
    return f"{value[:3]}-{value[3:6]}-{value[6:9]} {value[9:]}"


def page_url(endpoint: str, name: str, value: object, extra: dict[str, object]) -> str:
    """The same list with the same filters, from the cursor ``value`` (None: from the start)."""
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != name}
    if value is not None:
        args[name] = value
    return url_for(endpoint, **{**extra, **args})


def register_filters(app: Flask) -> None:
    env = app.jinja_env
    env.filters.update(
        d=fmt_date,
        v=fmt_value,
        n=fmt_number,
        snils=fmt_snils,
        field=lambda k: FIELD_TITLES.get(k, k),
        aspect=lambda k: ASPECT_TITLES.get(k, k),
        status=lambda k: STATUS_TITLES.get(str(k), str(k)),
        bstate=lambda k: BUFFER_STATE_TITLES.get(str(k), str(k)),
        category=lambda k: CATEGORY_TITLES.get(k, k),
        resolution=lambda k: RESOLUTION_TITLES.get(k, k),
        runstate=lambda k: RUN_STATE_TITLES.get(k, k),
        outcome=lambda k: OUTCOME_TITLES.get(k, k),
        source=lambda k: SOURCE_TITLES.get(k, k),
        operation=lambda k: OPERATION_TITLES.get(k, k),
        role=lambda k: ROLE_TITLES.get(Role(k), k),
        permission=lambda k: PERMISSION_TITLES.get(Permission(k), k),
        event=lambda k: EVENT_TITLES.get(Event(k), k) if k in Event.__members__.values() else k,
    )
    env.globals.update(
        page_url=page_url,
        NAVIGATION=NAVIGATION,
        BUFFER_STATE_TITLES=BUFFER_STATE_TITLES,
        CATEGORY_TITLES=CATEGORY_TITLES,
        RESOLUTION_TITLES=RESOLUTION_TITLES,
        POLICY_TITLES=POLICY_TITLES,
        OUTCOME_TITLES=OUTCOME_TITLES,
        FIELD_TITLES=FIELD_TITLES,
        EVENT_TITLES={e.value: t for e, t in EVENT_TITLES.items()},
        ROLE_TITLES={r.value: t for r, t in ROLE_TITLES.items()},
    )


def matrix_markdown() -> str:
    """The permission matrix as the table of ``docs/console.md`` (a test keeps the file equal to it)."""
    from rserz_soap.domain.access import MATRIX

    roles = list(Role)
    lines = [
        "| function | permission | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for permission, allowed in MATRIX.items():
        title = PERMISSION_TITLES[permission] + (" *(planned)*" if permission in PLANNED else "")
        marks = " | ".join("✓" if r in allowed else "" for r in roles)
        lines.append(f"| {title} | `{permission.value}` | {marks} |")
    return "\n".join(lines) + "\n"
