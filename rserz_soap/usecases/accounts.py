"""Named users of the console: passwords, roles, lockout and sessions.

* **Passwords** are hashed with argon2id (``argon2-cffi``, RFC 9106 parameters) and exist in clear only in
  the request that carries them; a password generated here (a new user, a reset) is returned once to be
  shown once, and must be changed at the next login.
* **Lockout.** ``AccessPolicy.lock_after`` failures in a row lock the account for ``lock_seconds``; an
  administrator's lock (``lock``) holds until ``unlock``. While locked, a password is not even checked, so
  guessing goes on blind. An unknown login costs the same hash as a known one.
* **Sessions** live in the database: the browser holds a random token, the table its SHA-256. A session
  ends on logout, after ``idle_seconds`` without a request, after ``lifetime_seconds`` in all, when the user
  is locked, or when the password changes. Roles are read on every request, so taking one away takes
  effect at the next click.

Every step records a security event (``usecases/security_log.py``) in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from rserz_soap.db.accounts import UserRow
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.access import Event, Outcome, Permission, Role, permissions_of
from rserz_soap.usecases.security_log import Who, record

__all__ = [
    "AccessPolicy",
    "AccountError",
    "LoginOutcome",
    "LoginResult",
    "Principal",
    "UserRow",
    "add_user",
    "authenticate",
    "change_password",
    "end_sessions",
    "generate_password",
    "hash_password",
    "list_users",
    "lock",
    "logout",
    "reset_password",
    "resume",
    "set_roles",
    "unlock",
    "user",
    "user_count",
]

_HASHER = PasswordHasher()  # argon2id; its defaults follow RFC 9106's second recommendation
#: a hash to check an unknown login's password against, so both cost the same time
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
#: letters and digits that cannot be mistaken for each other when read off a terminal
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class AccessPolicy:
    lock_after: int = 5
    lock_seconds: int = 30 * 60
    idle_seconds: int = 15 * 60
    lifetime_seconds: int = 10 * 3600
    min_password: int = 12


class AccountError(ValueError):
    """An account operation that is not allowed (weak password, last administrator, unknown user …)."""


class LoginOutcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class Principal:
    """The user of a live session, as every request sees it."""

    user_id: int
    login: str
    full_name: str
    roles: frozenset[Role]
    session_id: int
    must_change_password: bool

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    token: str | None = None
    principal: Principal | None = None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def generate_password() -> str:
    """A one-time password: 16 characters of an unambiguous alphabet (≈ 93 bits), in groups of four."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normalise_login(login: str) -> str:
    return login.strip().lower()


def check_password_strength(password: str, login: str, policy: AccessPolicy) -> None:
    if len(password) < policy.min_password:
        raise AccountError(f"пароль короче {policy.min_password} символов")
    if login and login.lower() in password.lower():
        raise AccountError("пароль не должен содержать имя пользователя")
    if len(set(password)) < 5:
        raise AccountError("в пароле слишком мало разных символов")


# -- logging in and out -------------------------------------------------------------------------------------


def authenticate(uow: UnitOfWork, login: str, password: str, policy: AccessPolicy, where: Who) -> LoginResult:
    """Check a login and password; on success open a session and return its token (shown to nobody else)."""
    name = normalise_login(login)
    with uow:
        u = uow.accounts.by_login(name, for_update=True) if name else None
        if u is None:
            _verify(_DUMMY_HASH, password)
            # the typed login is kept only when it names a user: a password typed into the login field
            # must not end up in the log
            record(
                uow, where, Event.LOGIN_FAILED, Outcome.FAILURE, login="", details={"reason": "unknown_user"}
            )
            return LoginResult(LoginOutcome.FAILED)
        who = Who(
            login=u.login,
            user_id=u.id,
            ip=where.ip,
            user_agent=where.user_agent,
            method=where.method,
            path=where.path,
        )
        now = uow.accounts.now()
        if u.disabled_at is not None:
            record(uow, who, Event.LOGIN_FAILED, Outcome.DENIED, details={"reason": "disabled"})
            return LoginResult(LoginOutcome.DISABLED)
        if u.locked_until is not None and u.locked_until > now:
            record(uow, who, Event.LOGIN_FAILED, Outcome.DENIED, details={"reason": "locked_out"})
            return LoginResult(LoginOutcome.LOCKED)
        if not _verify(u.password_hash, password):
            count, locked = uow.accounts.login_failed(
                u.id, lock_after=policy.lock_after, lock_seconds=policy.lock_seconds
            )
            record(
                uow,
                who,
                Event.LOGIN_FAILED,
                Outcome.FAILURE,
                details={"reason": "password", "in_a_row": count},
            )
            if locked:
                record(
                    uow,
                    who,
                    Event.LOCKED_OUT,
                    Outcome.SUCCESS,
                    object_type="user",
                    object_id=u.id,
                    details={"failures": count, "seconds": policy.lock_seconds},
                )
                return LoginResult(LoginOutcome.LOCKED)
            return LoginResult(LoginOutcome.FAILED)
        if _HASHER.check_needs_rehash(u.password_hash):
            uow.accounts.rehash(u.id, _HASHER.hash(password))
        uow.accounts.login_succeeded(u.id)
        token = secrets.token_urlsafe(32)
        session_id = uow.accounts.open_session(
            u.id,
            _token_hash(token),
            lifetime_seconds=policy.lifetime_seconds,
            ip=where.ip,
            user_agent=where.user_agent,
        )
        principal = Principal(u.id, u.login, u.full_name, u.roles, session_id, u.must_change_password)
        record(uow, _who(principal, where), Event.LOGIN, Outcome.SUCCESS, details={"roles": sorted(u.roles)})
        return LoginResult(LoginOutcome.OK, token, principal)


def resume(uow: UnitOfWork, token: str, policy: AccessPolicy, where: Who) -> Principal | None:
    """The user of a live session, or None (the session ended now if it is idle, expired or locked)."""
    if not token:
        return None
    with uow:
        s = uow.accounts.session(_token_hash(token))
        if s is None or s.ended_at is not None:
            return None
        u = uow.accounts.by_id(s.user_id)
        assert u is not None
        who = Who(login=u.login, user_id=u.id, session_id=s.id, ip=where.ip, user_agent=where.user_agent)
        reason = None
        if s.now >= s.expires_at:
            reason = "expired"
        elif s.now - s.last_seen_at > timedelta(seconds=policy.idle_seconds):
            reason = "idle"
        elif u.disabled_at is not None or (u.locked_until is not None and u.locked_until > s.now):
            reason = "locked"
        if reason is not None:
            uow.accounts.end_session(s.id, reason)
            record(uow, who, Event.SESSION_EXPIRED, Outcome.SUCCESS, details={"reason": reason})
            return None
        uow.accounts.touch(s.id)
        return Principal(u.id, u.login, u.full_name, u.roles, s.id, u.must_change_password)


def logout(uow: UnitOfWork, principal: Principal, where: Who) -> None:
    with uow:
        uow.accounts.end_session(principal.session_id, "logout")
        record(uow, _who(principal, where), Event.LOGOUT)


def change_password(
    uow: UnitOfWork, principal: Principal, old: str, new: str, policy: AccessPolicy, where: Who
) -> None:
    """The user's own change: the old password is asked again; other sessions of the user end."""
    with uow:
        u = uow.accounts.by_id(principal.user_id, for_update=True)
        assert u is not None
        wrong_old = not _verify(u.password_hash, old)
        if wrong_old:  # recorded, and committed: the error is raised after the transaction
            record(
                uow,
                _who(principal, where),
                Event.PASSWORD_CHANGED,
                Outcome.FAILURE,
                details={"reason": "old"},
            )
    if wrong_old:
        raise AccountError("текущий пароль указан неверно")
    with uow:
        u = uow.accounts.by_id(principal.user_id, for_update=True)
        assert u is not None
        if _verify(u.password_hash, new):
            raise AccountError("новый пароль должен отличаться от текущего")
        check_password_strength(new, u.login, policy)
        uow.accounts.set_password(u.id, _HASHER.hash(new), must_change=False)
        ended = uow.accounts.end_sessions_of(u.id, "password", except_id=principal.session_id)
        record(
            uow,
            _who(principal, where),
            Event.PASSWORD_CHANGED,
            object_type="user",
            object_id=u.id,
            details={"other_sessions_ended": ended},
        )


# -- administration ------------------------------------------------------------------------------------------


def user_count(uow: UnitOfWork) -> int:
    with uow:
        return uow.accounts.count()


def list_users(uow: UnitOfWork) -> list[UserRow]:
    with uow:
        return uow.accounts.all()


def user(uow: UnitOfWork, user_id: int | None = None, *, login: str | None = None) -> UserRow:
    with uow:
        u = (
            uow.accounts.by_id(user_id)
            if user_id is not None
            else uow.accounts.by_login(normalise_login(login or ""))
        )
    if u is None:
        raise AccountError(f"нет пользователя {login or user_id}")
    return u


def add_user(
    uow: UnitOfWork,
    login: str,
    full_name: str,
    roles: frozenset[Role],
    who: Who,
    *,
    password: str | None = None,
    policy: AccessPolicy = AccessPolicy(),
) -> tuple[int, str | None]:
    """A new named user; without ``password`` a one-time one is generated and returned (to be shown once)."""
    name = normalise_login(login)
    if not name or not all(c.isascii() and (c.isalnum() or c in "._-") for c in name) or len(name) < 2:
        raise AccountError("имя пользователя: 2–64 латинских букв, цифр, точек, дефисов, подчёркиваний")
    if not full_name.strip():
        raise AccountError("укажите фамилию, имя и отчество пользователя")
    generated = None
    if password is None:
        generated = password = generate_password()
    else:
        check_password_strength(password, name, policy)
    with uow:
        if uow.accounts.by_login(name) is not None:
            raise AccountError(f"пользователь {name} уже есть")
        uid = uow.accounts.add(
            name,
            full_name.strip(),
            _HASHER.hash(password),
            must_change=generated is not None,
            created_by=who.actor,
        )
        uow.accounts.set_roles(uid, roles, who.actor)
        record(
            uow,
            who,
            Event.USER_ADDED,
            object_type="user",
            object_id=uid,
            details={"login": name, "roles": sorted(roles), "one_time_password": generated is not None},
        )
        record(
            uow,
            who,
            Event.ROLES_CHANGED,
            object_type="user",
            object_id=uid,
            details={"before": [], "after": sorted(roles)},
        )
    return uid, generated


def set_roles(uow: UnitOfWork, user_id: int, roles: frozenset[Role], who: Who) -> None:
    with uow:
        u = uow.accounts.by_id(user_id, for_update=True)
        if u is None:
            raise AccountError(f"нет пользователя {user_id}")
        if Role.ADMINISTRATOR in u.roles and Role.ADMINISTRATOR not in roles:
            _keep_an_administrator(uow, user_id)
        uow.accounts.set_roles(user_id, roles, who.actor)
        record(
            uow,
            who,
            Event.ROLES_CHANGED,
            object_type="user",
            object_id=user_id,
            details={"login": u.login, "before": sorted(u.roles), "after": sorted(roles)},
        )


def lock(uow: UnitOfWork, user_id: int, who: Who) -> None:
    """An administrator's lock: no login and no session until :func:`unlock`."""
    with uow:
        u = uow.accounts.by_id(user_id, for_update=True)
        if u is None:
            raise AccountError(f"нет пользователя {user_id}")
        if Role.ADMINISTRATOR in u.roles:
            _keep_an_administrator(uow, user_id)
        uow.accounts.disable(user_id, who.actor)
        ended = uow.accounts.end_sessions_of(user_id, "locked")
        record(
            uow,
            who,
            Event.USER_LOCKED,
            object_type="user",
            object_id=user_id,
            details={"login": u.login, "sessions_ended": ended},
        )


def unlock(uow: UnitOfWork, user_id: int, who: Who) -> None:
    """Lift an administrator's lock and a lockout after failures."""
    with uow:
        u = uow.accounts.by_id(user_id, for_update=True)
        if u is None:
            raise AccountError(f"нет пользователя {user_id}")
        uow.accounts.enable(user_id)
        record(
            uow, who, Event.USER_UNLOCKED, object_type="user", object_id=user_id, details={"login": u.login}
        )


def reset_password(
    uow: UnitOfWork,
    user_id: int,
    who: Who,
    *,
    password: str | None = None,
    policy: AccessPolicy = AccessPolicy(),
) -> str | None:
    """A new password set by an administrator: a one-time one unless given; the user's sessions end."""
    with uow:
        u = uow.accounts.by_id(user_id, for_update=True)
        if u is None:
            raise AccountError(f"нет пользователя {user_id}")
        generated = None
        if password is None:
            generated = password = generate_password()
        else:
            check_password_strength(password, u.login, policy)
        uow.accounts.set_password(user_id, _HASHER.hash(password), must_change=generated is not None)
        ended = uow.accounts.end_sessions_of(user_id, "password")
        record(
            uow,
            who,
            Event.PASSWORD_RESET,
            object_type="user",
            object_id=user_id,
            details={"login": u.login, "one_time_password": generated is not None, "sessions_ended": ended},
        )
    return generated


def end_sessions(uow: UnitOfWork, user_id: int, who: Who) -> int:
    with uow:
        ended = uow.accounts.end_sessions_of(user_id, "admin")
        record(
            uow, who, Event.SESSIONS_ENDED, object_type="user", object_id=user_id, details={"ended": ended}
        )
    return ended


def _keep_an_administrator(uow: UnitOfWork, user_id: int) -> None:
    """Refuse to leave the console without an active administrator (nobody could manage users then)."""
    others = [
        u
        for u in uow.accounts.all()
        if u.id != user_id and Role.ADMINISTRATOR in u.roles and u.disabled_at is None
    ]
    if not others:
        raise AccountError("это последний действующий администратор: сначала назначьте другого")


def _who(principal: Principal, where: Who) -> Who:
    return Who(
        login=principal.login,
        user_id=principal.user_id,
        session_id=principal.session_id,
        ip=where.ip,
        user_agent=where.user_agent,
        method=where.method,
        path=where.path,
    )


def who_of(principal: Principal, where: Who) -> Who:
    """The security log's view of a request made in ``principal``'s session."""
    return _who(principal, where)
