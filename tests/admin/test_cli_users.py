"""`rserz users …` and the first administrator of `rserz up`."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from rserz_soap.cli import main
from rserz_soap.db.uow import Database
from rserz_soap.runtime.bootstrap import console_notes, first_administrator
from rserz_soap.usecases import accounts
from tests.admin.conftest import ConsoleStand


@pytest.fixture
def rserz(stand: ConsoleStand, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RSERZ_DATABASE_URL", stand.settings.database_url or "")
    monkeypatch.setenv("RSERZ_REDIS_URL", stand.settings.redis_url or "")
    monkeypatch.setenv("RSERZ_VAR_DIR", stand.settings.var_dir)
    monkeypatch.setenv("USER", "tester")

    def run(*args: str, stdin: str | None = None) -> str:
        result = CliRunner().invoke(main, ["users", *args], input=stdin, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return run


def test_users_add_list_roles_lock_unlock_passwd(rserz, stand: ConsoleStand) -> None:  # type: ignore[no-untyped-def]
    out = rserz("add", "Petrov.V", "--name", "Петров Виктор", "--role", "operator", "--role", "auditor")
    password = re.search(r"one-time password[^:]*: (\S+)", out)
    assert password and "petrov.v added" in out
    u = accounts.user(stand.db().unit_of_work(), login="petrov.v")
    assert u.must_change_password and u.roles == {"operator", "auditor"}
    assert password.group(1) not in str(stand.rows("SELECT * FROM console_user")) + str(
        stand.rows("SELECT * FROM security_event")
    )
    assert "petrov.v" in rserz("list")
    assert "petrov.v: reviewer" in rserz("roles", "petrov.v", "reviewer")
    assert "locked" in rserz("lock", "petrov.v")
    assert accounts.user(stand.db().unit_of_work(), login="petrov.v").disabled_at is not None
    rserz("unlock", "petrov.v")
    assert accounts.user(stand.db().unit_of_work(), login="petrov.v").disabled_at is None
    rserz("passwd", "petrov.v", "--password-stdin", stdin="Новый-Пароль-Петрова-5\n")
    assert not accounts.user(stand.db().unit_of_work(), login="petrov.v").must_change_password
    actors = {r[0] for r in stand.rows("SELECT login FROM security_event WHERE object_id = :u", u=str(u.id))}
    assert actors == {"cli:tester"}
    events = [
        r[0]
        for r in stand.rows("SELECT event FROM security_event WHERE object_id = :u ORDER BY id", u=str(u.id))
    ]
    assert events == [
        "user_added",
        "roles_changed",
        "roles_changed",
        "user_locked",
        "user_unlocked",
        "password_reset",
    ]


def test_users_add_refuses_a_weak_password_and_an_unknown_role(
    stand: ConsoleStand, monkeypatch: pytest.MonkeyPatch, rserz
) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        main,
        ["users", "add", "weak", "--name", "x", "--role", "viewer", "--password-stdin"],
        input="short\nshort\n",
    )
    assert result.exit_code != 0 and "короче" in result.output
    result = CliRunner().invoke(main, ["users", "add", "x1", "--name", "x", "--role", "root"])
    assert result.exit_code != 0


def test_rserz_up_creates_the_first_administrator_once(fresh_engine: Engine) -> None:
    password = first_administrator(fresh_engine)
    assert password is not None
    assert any(password in line for line in console_notes(password))
    assert first_administrator(fresh_engine) is None
    assert "rserz users add" in " ".join(console_notes(None))
    admin = accounts.user(Database(fresh_engine).unit_of_work(), login="admin")
    assert admin.roles == {"administrator"} and admin.must_change_password
    assert admin.password_hash.startswith("$argon2id$") and password not in admin.password_hash
