"""What every console request shares: its dependencies, the signed-in user, permissions, the security log.

Views get their dependencies from :func:`deps`, the user from :func:`principal`, decide access with
:func:`requires` and log with :func:`audit`. Nothing here knows a page.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, render_template, request
from werkzeug.wrappers import Response as WerkzeugResponse

from rserz_soap.admin.federal import PersonLookup
from rserz_soap.config import Settings
from rserz_soap.db.uow import Database, UnitOfWork
from rserz_soap.domain.access import Event, Outcome, Permission
from rserz_soap.usecases import security_log
from rserz_soap.usecases.accounts import AccessPolicy, Principal, who_of
from rserz_soap.usecases.intake import Intake
from rserz_soap.usecases.security_log import Who

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class ConsoleDeps:
    """What the console needs from the process: the database, Redis, settings, and two factories built on
    first use (the ФЕРЗЛ client needs the hub's keys, the intake the error directory)."""

    settings: Settings
    db: Database
    redis: Any
    federal: Callable[[], PersonLookup] | None = None
    intake: Callable[[], Intake] | None = None
    _federal: PersonLookup | None = field(default=None, repr=False)
    _intake: Intake | None = field(default=None, repr=False)

    def uow(self) -> UnitOfWork:
        return self.db.unit_of_work()

    def reading(self) -> UnitOfWork:
        return self.db.reading()

    def federal_register(self) -> PersonLookup:
        if self._federal is None:
            if self.federal is None:
                raise RuntimeError("ФЕРЗЛ не настроен для консоли")
            self._federal = self.federal()
        return self._federal

    def the_intake(self) -> Intake:
        if self._intake is None:
            if self.intake is None:
                from rserz_soap.usecases.wiring import build_intake

                self._intake = build_intake(self.uow(), self.settings)
            else:
                self._intake = self.intake()
        return self._intake

    @property
    def policy(self) -> AccessPolicy:
        s = self.settings
        return AccessPolicy(
            lock_after=s.console_lockout_attempts,
            lock_seconds=s.console_lockout_minutes * 60,
            idle_seconds=s.console_idle_minutes * 60,
            lifetime_seconds=s.console_session_hours * 3600,
            min_password=s.console_password_min,
        )


def deps() -> ConsoleDeps:
    return cast(ConsoleDeps, current_app.extensions["rserz_console"])


def principal() -> Principal:
    """The signed-in user of this request (views behind :func:`requires` always have one)."""
    p = g.get("principal")
    if p is None:
        abort(401)
    return cast(Principal, p)


def where() -> Who:
    """Where the request comes from, for the security log: the client's address (after the trusted proxies),
    its browser, the method and the path — the path only, never the query string."""
    return Who(
        login="",
        ip=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:200] or None,
        method=request.method,
        path=(request.script_root + request.path)[:200],
    )


def who() -> Who:
    return who_of(principal(), where())


def audit(
    event: Event,
    outcome: Outcome = Outcome.SUCCESS,
    *,
    object_type: str | None = None,
    object_id: object = None,
    uow: UnitOfWork | None = None,
    **details: Any,
) -> None:
    """One line in the security log for this request (in ``uow``'s transaction when given)."""
    security_log.record(
        uow or deps().uow(),
        who(),
        event,
        outcome,
        object_type=object_type,
        object_id=object_id,
        details=details,
    )


def forbidden(permission: Permission) -> WerkzeugResponse:
    """Refuse, say so, and log the refusal (which function was asked for, by whom, where)."""
    audit(Event.FORBIDDEN, Outcome.DENIED, permission=permission.value)
    response = current_app.make_response(
        (render_template("error.html", code=403, title="Доступ запрещён", message=_refusal(permission)), 403)
    )
    return response


def _refusal(permission: Permission) -> str:
    from rserz_soap.domain.access import PERMISSION_TITLES

    return f"Вашим ролям не разрешена функция «{PERMISSION_TITLES[permission]}». Обращение записано в журнал безопасности."


def requires(*permissions: Permission) -> Callable[[F], F]:
    """The view needs every one of ``permissions``; otherwise 403 and a line in the security log."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            p = principal()
            for permission in permissions:
                if not p.may(permission):
                    return forbidden(permission)
            return view(*args, **kwargs)

        guarded.permissions = permissions  # type: ignore[attr-defined]  # read by the navigation and the tests
        return cast(F, guarded)

    return wrap


def may(permission: Permission) -> bool:
    p = g.get("principal")
    return bool(p is not None and p.may(permission))


# -- small parsing helpers shared by the views -------------------------------------------------------------


def arg_int(name: str, source: Any = None) -> int | None:
    raw = (source if source is not None else request.args).get(name, "").strip()
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def arg_date(name: str, source: Any = None) -> date | None:
    raw = (source if source is not None else request.args).get(name, "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def day_start(d: date | None) -> datetime | None:
    return datetime.combine(d, datetime.min.time()).astimezone() if d else None


# -- the key that signs cookies and form tokens --------------------------------------------------------------


def secret_key(settings: Settings) -> str:
    """``RSERZ_CONSOLE_SECRET``, or one generated once under var/ and shared by every process that reads it.

    Made with a temporary file and an atomic link, so two gunicorn workers starting together agree on it.
    """
    if settings.console_secret:
        return settings.console_secret
    path = Path(settings.var_dir) / "console" / "secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"secret.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
