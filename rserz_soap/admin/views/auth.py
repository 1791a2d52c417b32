"""Logging in and out, and changing one's own password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from rserz_soap.admin.web import deps, principal, where
from rserz_soap.usecases import accounts
from rserz_soap.usecases.accounts import AccountError, LoginOutcome

bp = Blueprint("auth", __name__)

MESSAGES = {
    LoginOutcome.FAILED: "Неверное имя пользователя или пароль.",
    LoginOutcome.LOCKED: "Вход временно заблокирован после неудачных попыток. Повторите позже или обратитесь к администратору.",
    LoginOutcome.DISABLED: "Учётная запись заблокирована администратором.",
}


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    from rserz_soap.admin.app import SESSION_TOKEN, _local

    if request.method == "GET":
        return render_template("login.html", next=_local(request.args.get("next")), insecure=_insecure())
    result = accounts.authenticate(
        deps().uow(),
        request.form.get("login", ""),
        request.form.get("password", ""),
        deps().policy,
        where(),
    )
    if result.outcome is not LoginOutcome.OK or result.token is None:
        return render_template(
            "login.html",
            error=MESSAGES[result.outcome],
            login=request.form.get("login", "")[:64],
            next=_local(request.form.get("next")),
            insecure=_insecure(),
        ), 401
    session.clear()  # a new session id and a new CSRF token: nothing survives from before the login
    session[SESSION_TOKEN] = result.token
    target = _local(request.form.get("next"))
    return redirect(request.script_root + target if target else url_for("dashboard.index"))


@bp.post("/logout")
def logout() -> Response:
    accounts.logout(deps().uow(), principal(), where())
    session.clear()
    flash("Вы вышли из консоли.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def password() -> str | Response | tuple[str, int]:
    me = principal()
    if request.method == "GET":
        return render_template("password.html", forced=me.must_change_password, policy=deps().policy)
    new, again = request.form.get("new", ""), request.form.get("again", "")
    try:
        if new != again:
            raise AccountError("новый пароль и повтор не совпадают")
        accounts.change_password(deps().uow(), me, request.form.get("old", ""), new, deps().policy, where())
    except AccountError as exc:
        return render_template(
            "password.html", forced=me.must_change_password, policy=deps().policy, error=str(exc)
        ), 400
    flash("Пароль изменён. Другие ваши сеансы завершены.", "info")
    return redirect(url_for("dashboard.index"))


def _insecure() -> bool:
    """A login over plain HTTP from another machine: the page warns (passwords would cross the network)."""
    return not request.is_secure and request.remote_addr not in ("127.0.0.1", "::1", None)
