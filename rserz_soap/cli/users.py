"""`rserz users`: the console's named users from the server's shell — to bootstrap the first administrator
and to recover when no administrator can log in. Every command is a line in the security log, by
``cli:<OS user>`` from ``local``."""

from __future__ import annotations

import getpass
import os
import sys
from typing import TYPE_CHECKING

import click

from rserz_soap.cli.main import Context, main, pass_ctx
from rserz_soap.cli.main import connected as _connected
from rserz_soap.domain.access import ROLE_TITLES, Role, parse_roles

if TYPE_CHECKING:
    from rserz_soap.usecases.accounts import AccessPolicy
    from rserz_soap.usecases.security_log import Who

ROLE_NAMES = [r.value for r in Role]


def _who() -> Who:
    from rserz_soap.usecases.security_log import Who

    return Who(login=f"cli:{os.environ.get('USER') or getpass.getuser()}"[:64], ip="local", method="CLI")


def _policy(ctx: Context) -> AccessPolicy:
    from rserz_soap.usecases.accounts import AccessPolicy

    return AccessPolicy(min_password=ctx.settings.console_password_min)


def _read_password(confirm: bool) -> str:
    """A password from the terminal (not echoed), or the first line of standard input when piped."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Пароль: ")
    if confirm and getpass.getpass("Ещё раз: ") != first:
        raise click.ClickException("пароли не совпадают")
    return first


@main.group()
def users() -> None:
    """Users of the ТФОМС console (/admin/): add, passwd, roles, lock, unlock, list.

    Roles: administrator (users, roles, participants, certificates, settings), operator (search, manual
    changes, merges, reconciliation), reviewer (buffer decisions), auditor (journals, read-only), viewer.
    """


@users.command("add")
@click.argument("login")
@click.option("--name", "full_name", required=True, help="the person's full name (ФИО)")
@click.option(
    "--role", "roles", multiple=True, type=click.Choice(ROLE_NAMES), required=True, help="repeatable"
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="read the password from standard input (or the terminal) instead of generating a one-time one",
)
@pass_ctx
def users_add(ctx: Context, login: str, full_name: str, roles: tuple[str, ...], password_stdin: bool) -> None:
    """Add a named user; prints a one-time password (shown once, changed at the first login)."""
    from rserz_soap.db import migrate as migrations
    from rserz_soap.db.uow import Database
    from rserz_soap.usecases import accounts

    password = _read_password(confirm=True) if password_stdin else None
    with _connected(ctx.settings) as (_settings, _urls, engine):
        migrations.upgrade(engine)
        try:
            _uid, generated = accounts.add_user(
                Database(engine).unit_of_work(),
                login,
                full_name,
                parse_roles(list(roles)),
                _who(),
                password=password,
                policy=_policy(ctx),
            )
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"user {login.lower()} added with roles: {', '.join(sorted(roles))}")
    if generated:
        click.echo(f"one-time password (shown once; to be changed at the first login): {generated}")


@users.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="set this password instead of a one-time one")
@pass_ctx
def users_passwd(ctx: Context, login: str, password_stdin: bool) -> None:
    """Give LOGIN a new password (a one-time one unless --password-stdin); ends the user's sessions."""
    from rserz_soap.db.uow import Database
    from rserz_soap.usecases import accounts

    password = _read_password(confirm=True) if password_stdin else None
    with _connected(ctx.settings) as (_settings, _urls, engine):
        db = Database(engine)
        try:
            u = accounts.user(db.unit_of_work(), login=login)
            generated = accounts.reset_password(
                db.unit_of_work(),
                u.id,
                _who(),
                password=password,
                policy=_policy(ctx),
            )
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"password of {u.login} changed; their sessions are ended")
    if generated:
        click.echo(f"one-time password (shown once; to be changed at the first login): {generated}")


@users.command("roles")
@click.argument("login")
@click.argument("roles", nargs=-1, type=click.Choice(ROLE_NAMES))
@pass_ctx
def users_roles(ctx: Context, login: str, roles: tuple[str, ...]) -> None:
    """Set the roles of LOGIN to ROLES (none: show them). Takes effect at the user's next request."""
    from rserz_soap.db.uow import Database
    from rserz_soap.usecases import accounts

    with _connected(ctx.settings) as (_settings, _urls, engine):
        db = Database(engine)
        try:
            u = accounts.user(db.unit_of_work(), login=login)
            if roles:
                accounts.set_roles(db.unit_of_work(), u.id, parse_roles(list(roles)), _who())
                u = accounts.user(db.unit_of_work(), u.id)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{u.login}: {', '.join(sorted(u.roles)) or 'no roles'}")


@users.command("lock")
@click.argument("login")
@pass_ctx
def users_lock(ctx: Context, login: str) -> None:
    """Lock LOGIN until unlocked (no login, its sessions end)."""
    _lock(ctx, login, lock=True)


@users.command("unlock")
@click.argument("login")
@pass_ctx
def users_unlock(ctx: Context, login: str) -> None:
    """Unlock LOGIN (an administrator's lock and a lockout after failed logins)."""
    _lock(ctx, login, lock=False)


def _lock(ctx: Context, login: str, *, lock: bool) -> None:
    from rserz_soap.db.uow import Database
    from rserz_soap.usecases import accounts

    with _connected(ctx.settings) as (_settings, _urls, engine):
        db = Database(engine)
        try:
            u = accounts.user(db.unit_of_work(), login=login)
            (accounts.lock if lock else accounts.unlock)(db.unit_of_work(), u.id, _who())
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{u.login} {'locked' if lock else 'unlocked'}")


@users.command("list")
@pass_ctx
def users_list(ctx: Context) -> None:
    """Every user with roles, state and last login."""
    from rserz_soap.db.uow import Database
    from rserz_soap.usecases import accounts

    with _connected(ctx.settings) as (_settings, _urls, engine):
        found = accounts.list_users(Database(engine).unit_of_work())
    if not found:
        click.echo("no console users yet: rserz users add LOGIN --name 'ФИО' --role administrator")
    for u in found:
        state = "locked" if u.disabled_at else ("locked out" if u.locked_until else "active")
        if u.must_change_password:
            state += ", one-time password"
        roles = ", ".join(f"{r.value} ({ROLE_TITLES[r]})" for r in sorted(u.roles)) or "no roles"
        last = f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "never"
        click.echo(f"{u.login:20} {state:28} last login {last:16}  {roles}  — {u.full_name}")
