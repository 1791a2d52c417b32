"""The console's Flask application, mounted at ``/admin`` by the hub's WSGI app (``web/app.py``).

Its own app rather than routes of the hub's: its cookies (path ``/admin``, HttpOnly, SameSite=Strict, Secure
over HTTPS), its CSRF protection (Flask-WTF, on every POST), its security headers (a strict CSP: no inline
script or style anywhere) and its error pages stay out of ``/soap`` and ``/healthz``.

A request passes: the trusted proxies (``RSERZ_PROXY_HOPS``) → the CSRF check for a POST → the session
(``usecases/accounts.resume``: idle and absolute timeouts, locks) → a forced password change when the
password is a one-time one → the view's permission (``web.requires``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, flash, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as WerkzeugResponse

from rserz_soap.admin import views
from rserz_soap.admin.presentation import register_filters
from rserz_soap.admin.web import ConsoleDeps, audit, deps, may, secret_key, where
from rserz_soap.domain.access import Event, Outcome
from rserz_soap.usecases import accounts

__all__ = ["ConsoleDeps", "create_console"]

SESSION_TOKEN = "t"  # noqa: S105 (the name of the session key, not a secret)
#: endpoints a visitor without a session may reach
PUBLIC = frozenset({"auth.login", "static"})
#: endpoints a user with a one-time password may reach before changing it
WHILE_PASSWORD_MUST_CHANGE = frozenset({"auth.password", "auth.logout", "static"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class _SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure whenever the request came over HTTPS (or always, if configured)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def create_console(console: ConsoleDeps) -> Flask:
    settings = console.settings
    app = Flask("rserz_soap.admin", static_url_path="/static")
    app.extensions["rserz_console"] = console
    app.config.update(
        SECRET_KEY=secret_key(settings),
        SESSION_COOKIE_NAME="rserz_console",
        SESSION_COOKIE_PATH="/admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.console_secure_cookies,
        WTF_CSRF_TIME_LIMIT=settings.console_session_hours * 3600,
        MAX_CONTENT_LENGTH=1 << 20,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.session_interface = _SessionCookies()
    if settings.proxy_hops > 0:
        n = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.jinja_env.autoescape = True
    register_filters(app)
    views.register(app)

    @app.before_request
    def _session() -> WerkzeugResponse | None:
        if request.endpoint == "static":
            return None
        token = session.get(SESSION_TOKEN)
        principal = accounts.resume(deps().uow(), token, deps().policy, where()) if token else None
        g.principal = principal
        if principal is None:
            if token:
                session.clear()
                flash("Сеанс завершён. Войдите снова.", "warning")
            if request.endpoint in PUBLIC:
                return None
            target = request.full_path if request.method == "GET" and request.endpoint else None
            return redirect(url_for("auth.login", next=_local(target)))
        if principal.must_change_password and request.endpoint not in WHILE_PASSWORD_MUST_CHANGE:
            flash("Пароль выдан на один вход: задайте свой.", "warning")
            return redirect(url_for("auth.password"))
        return None

    # after the session hook: a refused form is logged with the user who sent it
    CSRFProtect(app)

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h["X-Frame-Options"] = "DENY"
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "same-origin"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.endpoint != "static":
            h["Cache-Control"] = "no-store"  # pages hold personal data: never in a cache, never in history
        if request.is_secure:
            h["Strict-Transport-Security"] = "max-age=31536000"
        return response

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[str, int]:
        if g.get("principal") is not None:
            audit(Event.CSRF_REFUSED, Outcome.DENIED, reason=str(exc.description)[:100])
        else:
            from rserz_soap.usecases import security_log

            security_log.record(
                deps().uow(),
                where(),
                Event.CSRF_REFUSED,
                Outcome.DENIED,
                details={"reason": str(exc.description)[:100]},
            )
        return (
            render_template(
                "error.html",
                code=400,
                title="Форма отклонена",
                message="Форма устарела или отправлена не из консоли. Обновите страницу и повторите.",
            ),
            400,
        )

    @app.errorhandler(404)
    def _not_found(exc: Exception) -> tuple[str, int]:
        return render_template("error.html", code=404, title="Не найдено", message="Такой страницы нет."), 404

    @app.errorhandler(405)
    def _not_allowed(exc: Exception) -> tuple[str, int]:
        return render_template(
            "error.html", code=405, title="Так нельзя", message="Метод не поддерживается."
        ), 405

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"me": g.get("principal"), "may": may}

    return app


def _local(target: str | None) -> str | None:
    """Only a path inside the console may be a place to return to after the login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target.rstrip("?")
