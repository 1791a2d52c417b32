"""Who may do what in the ТФОМС console: roles, the permission matrix, and the security log's vocabulary.

The matrix is data (:data:`MATRIX`), read by the console's every view, by ``rserz users`` and by
``docs/console.md`` (generated from it, so the document cannot drift). A user holds one or more roles and
may do what any of them may (:func:`permissions_of`). Roles follow least privilege and the separation of
duties 152-ФЗ and the ФСТЭК orders expect: the administrator runs accounts and the exchange's participants
but sees no person's data; the operator changes the register; the reviewer decides held changes; the
auditor reads the journals; the viewer only looks.

Planned functions (:data:`PLANNED`) are in the matrix already, so granting them later changes no role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    OPERATOR = "operator"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    VIEWER = "viewer"


ROLE_TITLES: dict[Role, str] = {
    Role.ADMINISTRATOR: "Администратор",
    Role.OPERATOR: "Оператор",
    Role.REVIEWER: "Контролёр буфера",
    Role.AUDITOR: "Аудитор",
    Role.VIEWER: "Наблюдатель",
}


class Permission(StrEnum):
    DASHBOARD = "dashboard"
    PERSON_SEARCH = "person.search"
    FEDERAL_SEARCH = "federal.search"
    PERSON_VIEW = "person.view"
    PERSON_CHANGE = "person.change"
    PERSON_MERGE = "person.merge"
    BUFFER_VIEW = "buffer.view"
    BUFFER_DECIDE = "buffer.decide"
    RECONCILE_VIEW = "reconcile.view"
    RECONCILE_RUN = "reconcile.run"
    RECONCILE_EXPORT = "reconcile.export"
    EXCHANGE_JOURNAL = "journal.exchange"
    EXCHANGE_BODIES = "journal.bodies"
    SECURITY_LOG = "journal.security"
    JOBS_VIEW = "jobs.view"
    JOBS_RUN = "jobs.run"
    SNAPSHOTS_VIEW = "snapshots.view"
    SNAPSHOTS_DOWNLOAD = "snapshots.download"
    DAILY_FILES = "files.daily"
    NSI_VIEW = "nsi.view"
    PARTICIPANTS_VIEW = "participants.view"
    PARTICIPANTS_MANAGE = "participants.manage"
    CERTIFICATES_MANAGE = "certificates.manage"
    USERS_MANAGE = "users.manage"
    SETTINGS_VIEW = "settings.view"
    BACKUPS = "backups.manage"


PERMISSION_TITLES: dict[Permission, str] = {
    Permission.DASHBOARD: "Сводка",
    Permission.PERSON_SEARCH: "Поиск ЗЛ в РС ЕРЗ",
    Permission.FEDERAL_SEARCH: "Поиск ЗЛ в ФЕРЗЛ",
    Permission.PERSON_VIEW: "Карточка ЗЛ, история",
    Permission.PERSON_CHANGE: "Ручное изменение ЗЛ",
    Permission.PERSON_MERGE: "Объединение и разъединение дублей",
    Permission.BUFFER_VIEW: "Буфер: просмотр",
    Permission.BUFFER_DECIDE: "Буфер: решения",
    Permission.RECONCILE_VIEW: "Сверка: просмотр",
    Permission.RECONCILE_RUN: "Сверка: запуск и отмена",
    Permission.RECONCILE_EXPORT: "Сверка: выгрузка отчёта",
    Permission.EXCHANGE_JOURNAL: "Протокол обмена",
    Permission.EXCHANGE_BODIES: "Протокол обмена: тела сообщений",
    Permission.SECURITY_LOG: "Журнал безопасности",
    Permission.JOBS_VIEW: "Задания: просмотр",
    Permission.JOBS_RUN: "Задания: запуск и повтор",
    Permission.SNAPSHOTS_VIEW: "Срезы: список",
    Permission.SNAPSHOTS_DOWNLOAD: "Срезы: выгрузка",
    Permission.DAILY_FILES: "Суточные файлы",
    Permission.NSI_VIEW: "НСИ",
    Permission.PARTICIPANTS_VIEW: "Участники и сертификаты: просмотр",
    Permission.PARTICIPANTS_MANAGE: "Участники: настройка",
    Permission.CERTIFICATES_MANAGE: "Сертификаты: регистрация и отзыв",
    Permission.USERS_MANAGE: "Пользователи и роли",
    Permission.SETTINGS_VIEW: "Настройки",
    Permission.BACKUPS: "Резервные копии",
}

_A, _O, _R, _U, _V = Role.ADMINISTRATOR, Role.OPERATOR, Role.REVIEWER, Role.AUDITOR, Role.VIEWER
_ALL = frozenset(Role)
_READERS = frozenset({_O, _R, _U, _V})  # everyone who works with persons' data

#: permission → the roles that have it
MATRIX: dict[Permission, frozenset[Role]] = {
    Permission.DASHBOARD: _ALL,
    Permission.PERSON_SEARCH: _READERS,
    Permission.FEDERAL_SEARCH: frozenset({_O, _R}),
    Permission.PERSON_VIEW: _READERS,
    Permission.PERSON_CHANGE: frozenset({_O}),
    Permission.PERSON_MERGE: frozenset({_O}),
    Permission.BUFFER_VIEW: _READERS,
    Permission.BUFFER_DECIDE: frozenset({_R}),
    Permission.RECONCILE_VIEW: _READERS,
    Permission.RECONCILE_RUN: frozenset({_O}),
    Permission.RECONCILE_EXPORT: frozenset({_O, _U}),
    Permission.EXCHANGE_JOURNAL: frozenset({_A, _U}),
    Permission.EXCHANGE_BODIES: frozenset({_U}),
    Permission.SECURITY_LOG: frozenset({_A, _U}),
    Permission.JOBS_VIEW: frozenset({_A, _O, _U}),
    Permission.JOBS_RUN: frozenset({_A}),
    Permission.SNAPSHOTS_VIEW: _READERS,
    Permission.SNAPSHOTS_DOWNLOAD: frozenset({_O, _U}),
    Permission.DAILY_FILES: frozenset({_O, _U}),
    Permission.NSI_VIEW: _ALL,
    Permission.PARTICIPANTS_VIEW: frozenset({_A, _U}),
    Permission.PARTICIPANTS_MANAGE: frozenset({_A}),
    Permission.CERTIFICATES_MANAGE: frozenset({_A}),
    Permission.USERS_MANAGE: frozenset({_A}),
    Permission.SETTINGS_VIEW: frozenset({_A}),
    Permission.BACKUPS: frozenset({_A}),
}

#: functions that are in the matrix and the navigation but come with another issue (no page yet)
PLANNED: dict[Permission, str] = {
    Permission.DAILY_FILES: "суточные файлы REPLIST/STOPLIST/RECLIST — задача 15",
    Permission.BACKUPS: "резервное копирование и восстановление — задача 15",
}


def permissions_of(roles: frozenset[Role] | set[Role] | tuple[Role, ...]) -> frozenset[Permission]:
    """Everything a holder of ``roles`` may do (the union of the roles' rights)."""
    return frozenset(p for p, allowed in MATRIX.items() if allowed & frozenset(roles))


def parse_roles(names: list[str] | tuple[str, ...]) -> frozenset[Role]:
    """Role names as typed by an administrator; an unknown name is an error, not ignored."""
    out = set()
    for name in names:
        try:
            out.add(Role(name.strip().lower()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ValueError(f"unknown role {name!r}; roles: {known}") from None
    return frozenset(out)


# -- the security event log ----------------------------------------------------------------------------


class Event(StrEnum):
    """What a security event records. Stable strings: they are stored and filtered on."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCKED_OUT = "locked_out"
    LOGOUT = "logout"
    SESSION_EXPIRED = "session_expired"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (an event name, not a password)
    PASSWORD_RESET = "password_reset"  # noqa: S105
    USER_ADDED = "user_added"
    ROLES_CHANGED = "roles_changed"
    USER_LOCKED = "user_locked"
    USER_UNLOCKED = "user_unlocked"
    SESSIONS_ENDED = "sessions_ended"
    FORBIDDEN = "forbidden"
    CSRF_REFUSED = "csrf_refused"
    PERSON_SEARCHED = "person_searched"
    FEDERAL_SEARCHED = "federal_searched"
    PERSON_VIEWED = "person_viewed"
    PERSON_CHANGED = "person_changed"
    PIN_RELEASED = "pin_released"
    PERSONS_MERGED = "persons_merged"
    MERGE_UNDONE = "merge_undone"
    BUFFER_DECIDED = "buffer_decided"
    BUFFER_VIEWED = "buffer_viewed"
    RECONCILE_STARTED = "reconcile_started"
    RECONCILE_CANCELLED = "reconcile_cancelled"
    EXPORTED = "exported"
    EXCHANGE_BODY_VIEWED = "exchange_body_viewed"
    JOB_TRIGGERED = "job_triggered"
    JOB_RETRIED = "job_retried"
    PARTICIPANT_CHANGED = "participant_changed"
    CERTIFICATE_ADDED = "certificate_added"
    CERTIFICATE_REVOKED = "certificate_revoked"


EVENT_TITLES: dict[Event, str] = {
    Event.LOGIN: "Вход",
    Event.LOGIN_FAILED: "Неудачный вход",
    Event.LOCKED_OUT: "Блокировка после неудачных входов",
    Event.LOGOUT: "Выход",
    Event.SESSION_EXPIRED: "Сеанс истёк",
    Event.PASSWORD_CHANGED: "Смена пароля",
    Event.PASSWORD_RESET: "Сброс пароля",
    Event.USER_ADDED: "Новый пользователь",
    Event.ROLES_CHANGED: "Изменение ролей",
    Event.USER_LOCKED: "Блокировка пользователя",
    Event.USER_UNLOCKED: "Разблокировка пользователя",
    Event.SESSIONS_ENDED: "Завершение сеансов",
    Event.FORBIDDEN: "Отказ в доступе",
    Event.CSRF_REFUSED: "Отклонена форма без токена",
    Event.PERSON_SEARCHED: "Поиск ЗЛ",
    Event.FEDERAL_SEARCHED: "Поиск в ФЕРЗЛ",
    Event.PERSON_VIEWED: "Просмотр карточки ЗЛ",
    Event.PERSON_CHANGED: "Ручное изменение ЗЛ",
    Event.PIN_RELEASED: "Снятие закрепления",
    Event.PERSONS_MERGED: "Объединение дублей",
    Event.MERGE_UNDONE: "Разъединение",
    Event.BUFFER_DECIDED: "Решение по буферу",
    Event.BUFFER_VIEWED: "Просмотр записи буфера",
    Event.RECONCILE_STARTED: "Запуск сверки",
    Event.RECONCILE_CANCELLED: "Отмена сверки",
    Event.EXPORTED: "Выгрузка",
    Event.EXCHANGE_BODY_VIEWED: "Просмотр тела сообщения",
    Event.JOB_TRIGGERED: "Запуск задания",
    Event.JOB_RETRIED: "Повтор задания",
    Event.PARTICIPANT_CHANGED: "Изменение участника",
    Event.CERTIFICATE_ADDED: "Регистрация сертификата",
    Event.CERTIFICATE_REVOKED: "Отзыв сертификата",
}


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


@dataclass(frozen=True)
class SecurityEvent:
    """One line of the security log: who, when (the database's clock), from where, what, with what outcome.

    ``object_type``/``object_id`` name what was touched by internal id (a person's id, a user's id, a buffer
    entry), never by personal data; ``details`` hold field *names*, counts and codes, never values.
    """

    event: Event
    outcome: Outcome
    user_id: int | None = None
    login: str | None = None
    session_id: int | None = None
    ip: str | None = None
    user_agent: str | None = None
    method: str | None = None
    path: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
