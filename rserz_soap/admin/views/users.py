"""Users and roles (the administrator's), the permission matrix, and the effective settings."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from rserz_soap.admin.forms import text
from rserz_soap.admin.web import deps, requires, who
from rserz_soap.config import settings_table
from rserz_soap.domain.access import MATRIX, PLANNED, Permission, Role, parse_roles
from rserz_soap.usecases import accounts
from rserz_soap.usecases.accounts import AccountError

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.get("/")
@requires(Permission.USERS_MANAGE)
def index() -> str:
    return render_template("users.html", users=accounts.list_users(deps().reading()), roles=list(Role))


@bp.post("/")
@requires(Permission.USERS_MANAGE)
def add() -> str | Response | tuple[str, int]:
    form = request.form
    try:
        roles = parse_roles(form.getlist("roles"))
        uid, password = accounts.add_user(
            deps().uow(), form.get("login", ""), form.get("full_name", ""), roles, who(), policy=deps().policy
        )
    except (AccountError, ValueError) as exc:
        return render_template(
            "users.html",
            users=accounts.list_users(deps().reading()),
            roles=list(Role),
            error=str(exc),
            form=form,
        ), 400
    return render_template(
        "one_time_password.html", user=accounts.user(deps().reading(), uid), password=password
    )


@bp.get("/<int:user_id>")
@requires(Permission.USERS_MANAGE)
def show(user_id: int) -> str:
    try:
        u = accounts.user(deps().reading(), user_id)
    except AccountError:
        abort(404)
    return render_template("user.html", u=u, roles=list(Role))


@bp.post("/<int:user_id>/<action>")
@requires(Permission.USERS_MANAGE)
def act(user_id: int, action: str) -> str | Response:
    d = deps()
    try:
        if action == "roles":
            accounts.set_roles(d.uow(), user_id, parse_roles(request.form.getlist("roles")), who())
            flash("Роли изменены; права действуют с первого же запроса пользователя.", "info")
        elif action == "lock":
            accounts.lock(d.uow(), user_id, who())
            flash("Пользователь заблокирован, его сеансы завершены.", "info")
        elif action == "unlock":
            accounts.unlock(d.uow(), user_id, who())
            flash("Пользователь разблокирован.", "info")
        elif action == "sessions":
            n = accounts.end_sessions(d.uow(), user_id, who())
            flash(f"Завершено сеансов: {n}.", "info")
        elif action == "reset":
            password = accounts.reset_password(d.uow(), user_id, who(), policy=d.policy)
            return render_template(
                "one_time_password.html", user=accounts.user(d.reading(), user_id), password=password
            )
        else:
            abort(404)
    except (AccountError, ValueError) as exc:
        flash(str(exc), "error")
    return redirect(url_for("users.show", user_id=user_id))


@bp.get("/matrix")
@requires(Permission.USERS_MANAGE)
def matrix() -> str:
    return render_template("matrix.html", matrix=MATRIX, roles=list(Role), planned=PLANNED)


@bp.get("/settings")
@requires(Permission.SETTINGS_VIEW)
def settings() -> str:
    s = deps().settings
    rows = []
    for env, default, doc in settings_table():
        name = next(f for f in s.__dataclass_fields__ if s.__dataclass_fields__[f].metadata.get("env") == env)
        value = getattr(s, name)
        rows.append((env, _shown(env, value), default, doc))
    return render_template("settings.html", rows=rows, name=text(request.args, "q"))


def _shown(env: str, value: object) -> str:
    """A setting as the page may show it: secrets never, passwords in URLs never."""
    if value is None or value == "":
        return "—"
    if env == "RSERZ_CONSOLE_SECRET":
        return "задан"
    raw = str(value)
    if "://" in raw and "@" in raw:
        scheme, rest = raw.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"
    return raw
