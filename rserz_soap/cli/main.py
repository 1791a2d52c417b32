"""The `rserz` command: every process and every operator task of the hub."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
from collections.abc import Iterator

import click
from sqlalchemy import Engine

from rserz_soap.config import Settings, load_settings
from rserz_soap.db.engine import make_engine
from rserz_soap.runtime.services import ServiceUrls, running_services


@dataclasses.dataclass
class Context:
    settings: Settings


pass_ctx = click.make_pass_decorator(Context)


@contextlib.contextmanager
def connected(settings: Settings) -> Iterator[tuple[Settings, ServiceUrls, Engine]]:
    """Services (embedded when no URL is configured), settings that name them, and an engine."""
    with running_services(settings) as urls:
        resolved = dataclasses.replace(settings, database_url=urls.database_url, redis_url=urls.redis_url)
        engine = make_engine(urls.database_url, application_name="rserz-cli")
        try:
            yield resolved, urls, engine
        finally:
            engine.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="rserz-soap")
@click.pass_context
def main(ctx: click.Context) -> None:
    """РС ЕРЗ hub: the regional register of insured persons.

    Configuration comes from RSERZ_* environment variables (see docs/configuration.md). Without
    RSERZ_DATABASE_URL / RSERZ_REDIS_URL every command uses embedded PostgreSQL and Redis under var/.
    """
    settings = load_settings()
    _configure_logging(settings, ctx.invoked_subcommand)
    ctx.obj = Context(settings)


def group(name: str, doc: str) -> click.Group:
    """The `rserz NAME` group, made by whichever module needs it first: several modules add commands to
    one group (`rserz files import` and `rserz files export` live in different modules), and neither
    replaces the other's."""
    existing = main.commands.get(name)
    if isinstance(existing, click.Group):
        return existing
    made = click.Group(name, help=doc)
    main.add_command(made)
    return made


#: commands that are processes: their log is their output (the supervisor or systemd collects it)
PROCESSES = frozenset({"up", "serve", "worker", "scheduler", "emulators"})
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _configure_logging(settings: Settings, command: str | None) -> None:
    """Processes log to stderr (or, under `rserz up`, to var/log/<process>.log with warnings on the
    terminal); an operator command and `rserz up` itself print their result and keep their log in var/log/,
    so the terminal shows the status or the startup, not Alembic's or the embedded server's chatter."""
    from rserz_soap.runtime import logs

    if command in PROCESSES and command != "up":
        logs.configure_process("web" if command == "serve" else command, settings.log_level)
        return
    if command is None:
        logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
        return
    logs.configure_command(
        settings.var_path / "log", settings.log_level, "rserz-up.log" if command == "up" else "rserz-cli.log"
    )


@main.command()
@pass_ctx
def up(ctx: Context) -> None:
    """Start the whole hub: databases, migrations, НСИ, PKI, demo region, web, worker and scheduler."""
    from rserz_soap.runtime.bootstrap import console_notes, first_administrator, prepare
    from rserz_soap.runtime.supervisor import Supervisor

    with connected(ctx.settings) as (settings, urls, engine):
        click.echo(f"PostgreSQL: {'embedded, ' if not ctx.settings.database_url else ''}{urls.database_url}")
        click.echo(f"Redis:      {'embedded, ' if not ctx.settings.redis_url else ''}{urls.redis_url}")
        prepare(settings, engine, say=click.echo)
        password = first_administrator(engine)
        if password is not None:
            click.echo(
                "console: first administrator `admin` created (its one-time password is printed below)"
            )
        engine.dispose()
        env = dict(
            os.environ,
            RSERZ_DATABASE_URL=urls.database_url,
            RSERZ_REDIS_URL=urls.redis_url,
            RSERZ_VAR_DIR=settings.var_dir,
        )
        status = Supervisor(settings, env, say=click.echo, console_notes=console_notes(password)).run()
    click.echo("stopped.")
    sys.exit(status)
