"""The console's users, their roles and sessions (``console_user``, ``console_user_role``, ``console_session``).

Passwords reach this module only as argon2 hashes made by ``usecases/accounts.py``; session tokens only as
their SHA-256. Times that decide a lockout or a session's end are the database's (``now()``), so several
web processes on several machines agree on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text, update

from rserz_soap.db.tables import console_session, console_user, console_user_role
from rserz_soap.domain.access import Role


@dataclass(frozen=True)
class UserRow:
    id: int
    login: str
    full_name: str
    password_hash: str
    must_change_password: bool
    failed_logins: int
    locked_until: datetime | None
    disabled_at: datetime | None
    disabled_by: str | None
    last_login_at: datetime | None
    password_changed_at: datetime
    created_at: datetime
    created_by: str
    roles: frozenset[Role]
    open_sessions: int = 0


@dataclass(frozen=True)
class SessionRow:
    id: int
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    now: datetime  # the database's clock when the row was read: every check uses this one


class Accounts:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- users -----------------------------------------------------------------------------------------

    def now(self) -> datetime:
        now: datetime = self._conn.execute(select(func.now())).scalar_one()
        return now

    def count(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(console_user)).scalar_one())

    def add(
        self, login: str, full_name: str, password_hash: str, *, must_change: bool, created_by: str
    ) -> int:
        return int(
            self._conn.execute(
                insert(console_user)
                .values(
                    login=login,
                    full_name=full_name,
                    password_hash=password_hash,
                    must_change_password=must_change,
                    created_by=created_by,
                )
                .returning(console_user.c.id)
            ).scalar_one()
        )

    def by_login(self, login: str, *, for_update: bool = False) -> UserRow | None:
        return self._one(console_user.c.login == login, for_update)

    def by_id(self, user_id: int, *, for_update: bool = False) -> UserRow | None:
        return self._one(console_user.c.id == user_id, for_update)

    def _one(self, where: Any, for_update: bool) -> UserRow | None:
        q = select(console_user).where(where)
        row = self._conn.execute(q.with_for_update() if for_update else q).mappings().first()
        if row is None:
            return None
        return self._user(row, self.roles_of([row["id"]]).get(row["id"], frozenset()))

    def all(self) -> list[UserRow]:
        open_sessions = (
            select(func.count())
            .select_from(console_session)
            .where(
                console_session.c.user_id == console_user.c.id,
                console_session.c.ended_at.is_(None),
                console_session.c.expires_at > func.now(),
            )
            .scalar_subquery()
        )
        rows = self._conn.execute(
            select(console_user, open_sessions.label("open_sessions")).order_by(console_user.c.login)
        ).mappings()
        rows_ = list(rows)
        roles = self.roles_of([r["id"] for r in rows_])
        return [self._user(r, roles.get(r["id"], frozenset()), int(r["open_sessions"])) for r in rows_]

    def roles_of(self, user_ids: Iterable[int]) -> dict[int, frozenset[Role]]:
        out: dict[int, set[Role]] = {}
        rows = self._conn.execute(
            select(console_user_role.c.user_id, console_user_role.c.role).where(
                console_user_role.c.user_id.in_(list(user_ids))
            )
        )
        for uid, role in rows:
            out.setdefault(uid, set()).add(Role(role))
        return {k: frozenset(v) for k, v in out.items()}

    def set_roles(self, user_id: int, roles: frozenset[Role], granted_by: str) -> None:
        self._conn.execute(
            delete(console_user_role).where(
                console_user_role.c.user_id == user_id,
                console_user_role.c.role.not_in([r.value for r in roles]),
            )
        )
        if roles:
            self._conn.execute(
                text(
                    "INSERT INTO console_user_role (user_id, role, granted_by)"
                    " SELECT :uid, unnest(CAST(:roles AS text[])), :by ON CONFLICT DO NOTHING"
                ),
                {"uid": user_id, "roles": sorted(r.value for r in roles), "by": granted_by},
            )

    def set_password(self, user_id: int, password_hash: str, *, must_change: bool) -> None:
        self._conn.execute(
            update(console_user)
            .where(console_user.c.id == user_id)
            .values(
                password_hash=password_hash,
                must_change_password=must_change,
                password_changed_at=func.now(),
                failed_logins=0,
                locked_until=None,
            )
        )

    def rehash(self, user_id: int, password_hash: str) -> None:
        """The same password under newer argon2 parameters (not a password change)."""
        self._conn.execute(
            update(console_user).where(console_user.c.id == user_id).values(password_hash=password_hash)
        )

    def login_failed(self, user_id: int, *, lock_after: int, lock_seconds: int) -> tuple[int, bool]:
        """Count a failure; lock the account when it is the ``lock_after``-th in a row. Returns the count
        and whether this failure locked it."""
        row = self._conn.execute(
            text(
                "UPDATE console_user SET failed_logins = failed_logins + 1, last_failed_at = now(),"
                " locked_until = CASE WHEN failed_logins + 1 >= :n"
                " THEN now() + make_interval(secs => :s) ELSE locked_until END"
                " WHERE id = :id RETURNING failed_logins, locked_until IS NOT NULL AND locked_until > now()"
            ),
            {"id": user_id, "n": lock_after, "s": lock_seconds},
        ).one()
        return int(row[0]), bool(row[1]) and int(row[0]) >= lock_after

    def login_succeeded(self, user_id: int) -> None:
        self._conn.execute(
            update(console_user)
            .where(console_user.c.id == user_id)
            .values(failed_logins=0, locked_until=None, last_login_at=func.now())
        )

    def disable(self, user_id: int, by: str) -> None:
        self._conn.execute(
            update(console_user)
            .where(console_user.c.id == user_id)
            .values(disabled_at=func.now(), disabled_by=by)
        )

    def enable(self, user_id: int) -> None:
        self._conn.execute(
            update(console_user)
            .where(console_user.c.id == user_id)
            .values(disabled_at=None, disabled_by=None, locked_until=None, failed_logins=0)
        )

    @staticmethod
    def _user(r: Any, roles: frozenset[Role], open_sessions: int = 0) -> UserRow:
        return UserRow(
            id=r["id"],
            login=r["login"],
            full_name=r["full_name"],
            password_hash=r["password_hash"],
            must_change_password=r["must_change_password"],
            failed_logins=r["failed_logins"],
            locked_until=r["locked_until"],
            disabled_at=r["disabled_at"],
            disabled_by=r["disabled_by"],
            last_login_at=r["last_login_at"],
            password_changed_at=r["password_changed_at"],
            created_at=r["created_at"],
            created_by=r["created_by"],
            roles=roles,
            open_sessions=open_sessions,
        )

    # -- sessions --------------------------------------------------------------------------------------

    def open_session(
        self,
        user_id: int,
        token_sha256: str,
        *,
        lifetime_seconds: int,
        ip: str | None,
        user_agent: str | None,
    ) -> int:
        return int(
            self._conn.execute(
                insert(console_session)
                .values(
                    token_sha256=token_sha256,
                    user_id=user_id,
                    expires_at=func.now() + text(f"make_interval(secs => {int(lifetime_seconds)})"),
                    ip=ip,
                    user_agent=(user_agent or "")[:200] or None,
                )
                .returning(console_session.c.id)
            ).scalar_one()
        )

    def session(self, token_sha256: str) -> SessionRow | None:
        s = console_session
        row = self._conn.execute(
            select(
                s.c.id,
                s.c.user_id,
                s.c.created_at,
                s.c.last_seen_at,
                s.c.expires_at,
                s.c.ended_at,
                func.now(),
            ).where(s.c.token_sha256 == token_sha256)
        ).first()
        return SessionRow(*row) if row is not None else None

    def touch(self, session_id: int) -> None:
        self._conn.execute(
            update(console_session).where(console_session.c.id == session_id).values(last_seen_at=func.now())
        )

    def end_session(self, session_id: int, reason: str) -> None:
        self._conn.execute(
            update(console_session)
            .where(console_session.c.id == session_id, console_session.c.ended_at.is_(None))
            .values(ended_at=func.now(), end_reason=reason)
        )

    def end_sessions_of(self, user_id: int, reason: str, *, except_id: int | None = None) -> int:
        q = update(console_session).where(
            console_session.c.user_id == user_id, console_session.c.ended_at.is_(None)
        )
        if except_id is not None:
            q = q.where(console_session.c.id != except_id)
        return int(self._conn.execute(q.values(ended_at=func.now(), end_reason=reason)).rowcount or 0)
