"""The console's security promises: CSRF on every form, lockout, no password in clear anywhere, sessions that
end, no personal data in the security log's URLs, refusals logged, cookies and headers as they must be."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import DBAPIError

from rserz_soap.admin.presentation import NAVIGATION
from rserz_soap.domain.access import MATRIX, Permission, Role
from rserz_soap.usecases import accounts
from rserz_soap.usecases.security_log import Who
from tests.admin.conftest import PASSWORD, ConsoleStand, csrf_of, login

WHO = Who(login="cli:test", ip="local")


def _new_user(
    stand: ConsoleStand, login_: str, *roles: Role, password: str | None = PASSWORD
) -> tuple[int, str | None]:
    return accounts.add_user(
        stand.db().unit_of_work(), login_, f"Проверка {login_}", frozenset(roles), WHO, password=password
    )


def _events(stand: ConsoleStand, **where: str) -> list[dict[str, Any]]:
    cond = " AND ".join(f"{k} = :{k}" for k in where) or "true"
    with stand.engine.connect() as conn:
        from sqlalchemy import text

        return [
            dict(r._mapping)
            for r in conn.execute(text(f"SELECT * FROM security_event WHERE {cond} ORDER BY id"), where)
        ]


# -- CSRF ----------------------------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused_and_logged(
    stand: ConsoleStand, console: Flask, as_role
) -> None:
    anonymous = console.test_client()
    r = anonymous.post("/admin/login", data={"login": "operator", "password": PASSWORD})
    assert r.status_code == 400 and "Форма отклонена" in r.get_data(as_text=True)
    assert anonymous.get("/admin/").status_code == 302  # no session came of it

    op = as_role("operator")
    person = stand.persons[2]
    before = stand.scalar("SELECT version_no FROM person WHERE id = :p", p=person.person_id)
    change = {"mode": "deviation", "field": "mr", "value": "подделка", "justification": "без токена"}
    for token in (None, "forged-token"):
        data = dict(change, **({"csrf_token": token} if token else {}))
        r = op.post(f"/admin/persons/{person.person_id}/change", data=data)
        assert r.status_code == 400
    assert stand.scalar("SELECT version_no FROM person WHERE id = :p", p=person.person_id) == before
    refused = _events(stand, event="csrf_refused", login="operator")
    assert len(refused) >= 2 and all(e["outcome"] == "denied" for e in refused)
    # the same change with the page's token goes through
    data = dict(
        change,
        value="г. Томск",
        justification="проверено",
        csrf_token=csrf_of(op, f"/admin/persons/{person.person_id}/change"),
    )
    assert op.post(f"/admin/persons/{person.person_id}/change", data=data).status_code == 302
    assert stand.scalar("SELECT version_no FROM person WHERE id = :p", p=person.person_id) == before + 1


def test_every_form_of_every_page_carries_a_csrf_token(stand: ConsoleStand, as_role) -> None:
    pages = {
        "operator": ["/admin/search", f"/admin/persons/{stand.persons[0].person_id}", f"/admin/persons/{stand.persons[0].person_id}/change",
                     f"/admin/persons/{stand.persons[0].person_id}/duplicates", "/admin/reconcile/", "/admin/buffer/?state="],
        "reviewer": ["/admin/buffer/", *[f"/admin/buffer/{i}" for i in stand.held]],
        "administrator": ["/admin/users/", f"/admin/users/{stand.users['viewer']}", "/admin/participants", "/admin/jobs/"],
    }  # fmt: skip
    checked = 0
    for role, paths in pages.items():
        client = as_role(role)
        for path in paths:
            body = client.get(path).get_data(as_text=True)
            for form in re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", body, flags=re.S):
                assert 'name="csrf_token"' in form, (path, form[:200])
                checked += 1
    assert checked > 15


# -- lockout -------------------------------------------------------------------------------------------------


def test_repeated_failures_lock_the_account_then_even_the_right_password_is_refused(
    stand: ConsoleStand, console: Flask
) -> None:
    _new_user(stand, "locktest", Role.VIEWER)
    client = console.test_client()
    attempts = stand.settings.console_lockout_attempts
    for _ in range(attempts):
        r = login(client, "locktest", "неверный пароль 123")
        assert r.status_code == 401
    assert "заблокирован" in r.get_data(as_text=True)
    r = login(client, "locktest", PASSWORD)
    assert r.status_code == 401 and "заблокирован" in r.get_data(as_text=True)
    assert (
        stand.scalar(
            "SELECT count(*) FROM console_session s JOIN console_user u ON u.id = s.user_id WHERE u.login = 'locktest'"
        )
        == 0
    )
    assert [e["event"] for e in _events(stand, login="locktest")].count("locked_out") == 1
    failures = _events(stand, login="locktest", event="login_failed")
    assert len(failures) == attempts + 1 and failures[-1]["details"] == {"reason": "locked_out"}
    # an administrator lifts the lock; the right password works again
    uid = stand.scalar("SELECT id FROM console_user WHERE login = 'locktest'")
    accounts.unlock(stand.db().unit_of_work(), uid, WHO)
    assert login(client, "locktest", PASSWORD).status_code == 302


def test_a_lock_by_an_administrator_ends_the_sessions_and_refuses_the_login(
    stand: ConsoleStand, console: Flask, as_role
) -> None:
    uid, _ = _new_user(stand, "locked.by.admin", Role.OPERATOR)
    victim = console.test_client()
    assert login(victim, "locked.by.admin").status_code == 302
    adm = as_role("administrator")
    r = adm.post(f"/admin/users/{uid}/lock", data={"csrf_token": csrf_of(adm, f"/admin/users/{uid}")})
    assert r.status_code == 302
    assert victim.get("/admin/search").status_code == 302  # back to the login page
    r = login(victim, "locked.by.admin")
    assert r.status_code == 401 and "администратором" in r.get_data(as_text=True)


def test_the_last_administrator_cannot_be_locked_or_demoted(stand: ConsoleStand) -> None:
    admins = stand.rows(
        "SELECT u.id FROM console_user u JOIN console_user_role r ON r.user_id = u.id WHERE r.role = 'administrator' AND u.disabled_at IS NULL"
    )
    assert len(admins) == 1
    (admin_id,) = admins[0]
    with pytest.raises(accounts.AccountError, match="последний"):
        accounts.lock(stand.db().unit_of_work(), admin_id, WHO)
    with pytest.raises(accounts.AccountError, match="последний"):
        accounts.set_roles(stand.db().unit_of_work(), admin_id, frozenset({Role.VIEWER}), WHO)


# -- passwords -----------------------------------------------------------------------------------------------


def test_passwords_are_never_stored_or_logged_in_clear(
    stand: ConsoleStand, console: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Очень-Секретный-Пароль-42"
    typo = "Опечатка-В-Пароле-7"
    caplog.set_level(logging.DEBUG)
    uid, generated = _new_user(stand, "pw.clear", Role.OPERATOR, password=None)
    assert generated is not None
    client = console.test_client()
    assert login(client, "pw.clear", typo).status_code == 401
    assert login(client, "pw.clear", generated).status_code == 302
    r = client.post(
        "/admin/account/password",
        data={
            "old": generated,
            "new": secret,
            "again": secret,
            "csrf_token": csrf_of(client, "/admin/account/password"),
        },
    )
    assert r.status_code == 302
    login(console.test_client(), secret, secret)  # a password typed into the login field
    client.post("/admin/logout", data={"csrf_token": csrf_of(client, "/admin/")})
    assert login(console.test_client(), "pw.clear", secret).status_code == 302

    stored = stand.scalar("SELECT password_hash FROM console_user WHERE id = :u", u=uid)
    assert stored.startswith("$argon2id$")
    dumps = [
        str(stand.rows("SELECT * FROM console_user")),
        str(stand.rows("SELECT * FROM console_session")),
        str(stand.rows("SELECT * FROM security_event")),
        caplog.text,
    ]
    for text_ in dumps:
        for clear in (secret, typo, generated):
            assert clear not in text_


def test_a_one_time_password_must_be_changed_before_anything_else(
    stand: ConsoleStand, console: Flask
) -> None:
    _uid, generated = _new_user(stand, "first.login", Role.OPERATOR, password=None)
    assert generated is not None and re.fullmatch(r"(\w{4}-){3}\w{4}", generated)
    client = console.test_client()
    assert login(client, "first.login", generated).status_code == 302
    r = client.get("/admin/search")
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/account/password")
    weak = {
        "old": generated,
        "new": "short",
        "again": "short",
        "csrf_token": csrf_of(client, "/admin/account/password"),
    }
    assert client.post("/admin/account/password", data=weak).status_code == 400
    good = "Новый-Пароль-Оператора-1"
    data = {
        "old": generated,
        "new": good,
        "again": good,
        "csrf_token": csrf_of(client, "/admin/account/password"),
    }
    assert client.post("/admin/account/password", data=data).status_code == 302
    assert client.get("/admin/search").status_code == 200


# -- sessions ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "reason"),
    [
        ("last_seen_at = now() - interval '2 hours'", "idle"),
        ("expires_at = now() - interval '1 second'", "expired"),
    ],
)
def test_a_session_ends_when_idle_or_past_its_lifetime(
    stand: ConsoleStand, console: Flask, column: str, reason: str
) -> None:
    client = console.test_client()
    assert login(client, "auditor").status_code == 302
    assert client.get("/admin/security").status_code == 200
    sid = stand.scalar(
        "SELECT max(s.id) FROM console_session s JOIN console_user u ON u.id = s.user_id WHERE u.login = 'auditor'"
    )
    with stand.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text(f"UPDATE console_session SET {column} WHERE id = :s"), {"s": sid})
    r = client.get("/admin/security")
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]
    assert stand.scalar("SELECT end_reason FROM console_session WHERE id = :s", s=sid) == reason
    assert (
        stand.scalar(
            "SELECT count(*) FROM security_event WHERE event = 'session_expired' AND session_id = :s AND details->>'reason' = :r",
            s=sid,
            r=reason,
        )
        == 1
    )
    assert client.get("/admin/security").status_code == 302  # the old cookie opens nothing any more


def test_logout_ends_the_session_on_the_server_not_only_in_the_browser(
    stand: ConsoleStand, console: Flask
) -> None:
    client = console.test_client()
    login(client, "viewer")
    cookie = client.get_cookie("rserz_console", path="/admin")
    assert cookie is not None
    client.post("/admin/logout", data={"csrf_token": csrf_of(client, "/admin/")})
    replay = console.test_client()
    replay.set_cookie("rserz_console", cookie.value, path="/admin")
    assert replay.get("/admin/").status_code == 302


def test_cookies_are_httponly_samesite_strict_scoped_to_the_console_and_secure_over_https(
    stand: ConsoleStand, console: Flask
) -> None:
    client = console.test_client()
    r = login(client, "viewer")
    header = r.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/admin" in header
    assert "Secure" not in header  # plain HTTP on the loopback (make run)
    secure = console.test_client()
    token = csrf_of(secure, "/admin/login")
    r = secure.post(
        "/admin/login",
        data={"login": "viewer", "password": PASSWORD, "csrf_token": token},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/admin/login"},
    )
    assert "Secure" in r.headers["Set-Cookie"]


def test_pages_forbid_framing_inline_script_and_caching(as_role) -> None:
    r = as_role("viewer").get("/admin/")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Cache-Control"] == "no-store"
    assert "<script>" not in r.get_data(as_text=True) and " style=" not in r.get_data(as_text=True)


# -- the permission matrix and refusals ---------------------------------------------------------------------


def test_every_view_of_the_console_is_guarded_by_the_matrix(stand: ConsoleStand) -> None:
    from rserz_soap.admin import ConsoleDeps, create_console

    app = create_console(ConsoleDeps(stand.settings, stand.db(), None))
    public = {"auth.login", "auth.logout", "auth.password", "static"}
    assert len(app.view_functions) > 30
    for endpoint, view in app.view_functions.items():
        if endpoint in public:
            continue
        assert getattr(view, "permissions", None), f"{endpoint} has no permission"
    assert {item.permission for item in NAVIGATION} <= set(MATRIX)
    assert all(MATRIX[p] for p in Permission)


def test_a_forbidden_page_answers_403_and_is_logged_with_who_and_what(stand: ConsoleStand, as_role) -> None:
    person = stand.persons[1]
    cases = [
        ("viewer", "get", f"/admin/persons/{person.person_id}/change", "person.change"),
        ("viewer", "get", "/admin/journal", "journal.exchange"),
        ("administrator", "get", f"/admin/persons/{person.person_id}", "person.view"),
        ("reviewer", "get", "/admin/users/", "users.manage"),
        ("auditor", "get", "/admin/users/settings", "settings.view"),
        ("operator", "get", "/admin/security", "journal.security"),
    ]
    for role, _method, path, permission in cases:
        client = as_role(role)
        r = client.get(path)
        assert r.status_code == 403, (role, path)
        assert "Доступ запрещён" in r.get_data(as_text=True)
        logged = [e for e in _events(stand, login=role, event="forbidden") if e["path"] == path]
        assert (
            logged and logged[-1]["outcome"] == "denied" and logged[-1]["details"]["permission"] == permission
        )
        assert logged[-1]["ip"] == "127.0.0.1"
    # a forbidden POST changes nothing
    viewer = as_role("viewer")
    before = stand.scalar("SELECT version_no FROM person WHERE id = :p", p=person.person_id)
    data = {
        "mode": "deviation",
        "field": "mr",
        "value": "x",
        "justification": "y",
        "csrf_token": csrf_of(viewer, "/admin/search"),
    }
    assert viewer.post(f"/admin/persons/{person.person_id}/change", data=data).status_code == 403
    assert stand.scalar("SELECT version_no FROM person WHERE id = :p", p=person.person_id) == before


def test_a_role_taken_away_takes_effect_at_the_next_request(stand: ConsoleStand, console: Flask) -> None:
    uid, _ = _new_user(stand, "demoted", Role.OPERATOR)
    client = console.test_client()
    login(client, "demoted")
    assert client.get("/admin/search").status_code == 200
    accounts.set_roles(stand.db().unit_of_work(), uid, frozenset({Role.AUDITOR}), WHO)
    assert client.get("/admin/search").status_code == 200  # auditors may search
    assert client.get(f"/admin/persons/{stand.persons[0].person_id}/change").status_code == 403
    change = _events(stand, event="roles_changed", object_id=str(uid))[-1]
    assert change["details"] == {"login": "demoted", "before": ["operator"], "after": ["auditor"]}


# -- the security log ----------------------------------------------------------------------------------------


def test_no_personal_data_reaches_the_security_log(stand: ConsoleStand, as_role) -> None:
    op = as_role("operator")
    p = stand.persons[0]
    token = csrf_of(op, "/admin/search")
    searches = [{"enp": p.enp}, {"ss": p.ss, "dr": p.dr.isoformat()}, {"fam": p.fam, "im": p.im, "dr": p.dr.isoformat()},
                {"doctype": "14", "docser": "45 07", "docnum": p.docnum}, {"fam": p.fam}]  # fmt: skip
    for s in searches:
        assert op.post("/admin/search", data={**s, "csrf_token": token}).status_code == 200
    op.get(f"/admin/persons/{p.person_id}")
    op.get(f"/admin/persons/{p.person_id}?on=2025-04-01")
    op.get(f"/admin/persons/{p.person_id}/duplicates")
    rows = stand.rows("SELECT path, details::text, object_id, login FROM security_event")
    personal = [
        x
        for person in stand.persons
        for x in (person.enp, person.ss, person.docnum, person.fam, person.im, person.dr.isoformat())
    ]
    for path, details, object_id, login_ in rows:
        blob = " ".join(str(v) for v in (path, details, object_id, login_))
        for value in personal:
            assert value not in blob, (value, blob)
        if path:
            assert "?" not in path
            assert re.fullmatch(r"/admin(/[a-z_.]+|/\d+)*/?(report\.\w+)?", path), path
    viewed = _events(stand, event="person_viewed", login="operator", object_id=str(p.person_id))
    assert len(viewed) >= 3 and all(e["object_type"] == "person" for e in viewed)
    searched = _events(stand, event="person_searched", login="operator")
    assert {e["details"]["key"] for e in searched} >= {"ENP", "SS", "FIO", "DOC", "NAME"}


def test_the_security_log_cannot_be_changed_or_emptied(stand: ConsoleStand) -> None:
    from sqlalchemy import text

    for sql in (
        "UPDATE security_event SET outcome = 'success'",
        "DELETE FROM security_event",
        "TRUNCATE security_event",
    ):
        with pytest.raises(DBAPIError, match="append-only"), stand.engine.begin() as conn:
            conn.execute(text(sql))
    assert stand.scalar("SELECT count(*) FROM security_event") > 0


def test_logins_and_failures_are_logged_with_where_from(stand: ConsoleStand, console: Flask) -> None:
    client = console.test_client()
    login(client, "reviewer", "не тот пароль 000")
    login(client, "nobody-here", "что-то 1234567")
    login(client, "reviewer")
    mine = _events(stand, login="reviewer")
    assert [e["event"] for e in mine[-2:]] == ["login_failed", "login"]
    assert mine[-1]["ip"] == "127.0.0.1" and mine[-1]["session_id"] is not None
    unknown = stand.rows(
        "SELECT login, details->>'reason' FROM security_event WHERE event = 'login_failed' AND login IS NULL"
    )
    assert ("unknown_user",) in [(r[1],) for r in unknown]


def test_the_matrix_gives_each_role_what_the_issue_asks_and_nothing_of_the_others(
    as_role: Callable[[str], FlaskClient],
) -> None:
    from rserz_soap.domain.access import permissions_of

    admin = permissions_of({Role.ADMINISTRATOR})
    assert {
        Permission.USERS_MANAGE,
        Permission.PARTICIPANTS_MANAGE,
        Permission.CERTIFICATES_MANAGE,
        Permission.SETTINGS_VIEW,
    } <= admin
    assert Permission.PERSON_VIEW not in admin and Permission.BUFFER_DECIDE not in admin
    assert {Permission.PERSON_SEARCH, Permission.PERSON_CHANGE} <= permissions_of({Role.OPERATOR})
    assert Permission.BUFFER_DECIDE not in permissions_of({Role.OPERATOR})
    assert Permission.BUFFER_DECIDE in permissions_of({Role.REVIEWER})
    auditor = permissions_of({Role.AUDITOR})
    assert {Permission.EXCHANGE_JOURNAL, Permission.SECURITY_LOG} <= auditor
    assert (
        not {Permission.PERSON_CHANGE, Permission.BUFFER_DECIDE, Permission.JOBS_RUN, Permission.USERS_MANAGE}
        & auditor
    )
    viewer = permissions_of({Role.VIEWER})
    assert all(
        not p.value.endswith((".change", ".decide", ".run", ".manage", ".merge", ".download")) for p in viewer
    )


def test_the_documented_matrix_is_the_one_in_force() -> None:
    from rserz_soap.admin.presentation import matrix_markdown
    from rserz_soap.config import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "console.md").read_text(encoding="utf-8")
    assert matrix_markdown() in doc, (
        "regenerate the matrix in docs/console.md from rserz_soap/domain/access.py"
    )
