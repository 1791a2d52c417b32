"""Snapshots (срезы): publish one for a date, list them, prove one reproduces from history."""

from __future__ import annotations

import os
import sys
from datetime import date, datetime

import click

from rserz_soap.cli.main import Context, main, pass_ctx
from rserz_soap.cli.main import connected as _connected


@main.group()
def snapshot() -> None:
    """Snapshots of the register: who was insured at 00:00 of a date, published once, never changed."""


@snapshot.command("publish")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="default: the 1st of this month")
@click.option("--actor", default=lambda: os.environ.get("USER", "operator"), show_default="$USER")
@pass_ctx
def snapshot_publish(ctx: Context, day: datetime | None, actor: str) -> None:
    """Publish the snapshot of a date (a published one is shown as it is)."""
    from rserz_soap.db.uow import Database
    from rserz_soap.usecases import snapshots

    when = day.date() if day else date.today().replace(day=1)
    with _connected(ctx.settings) as (_settings, _urls, engine):
        info = snapshots.publish(Database(engine).unit_of_work(), when, actor=actor)
    click.echo(
        f"{info.day}: {info.persons} insured, published {info.published_at:%Y-%m-%d %H:%M}, sha256 {info.checksum}"
    )


@snapshot.command("list")
@pass_ctx
def snapshot_list(ctx: Context) -> None:
    """Published snapshots, newest first, with their counts by СМО."""
    from rserz_soap.db.uow import Database
    from rserz_soap.usecases import snapshots

    with _connected(ctx.settings) as (_settings, _urls, engine):
        found = snapshots.published(Database(engine).unit_of_work())
    for info in found:
        smo = ", ".join(f"{k} {v}" for k, v in sorted(info.counts.get("smo", {}).items()))
        click.echo(f"{info.day}  {info.persons:>9} insured  ({smo})  sha256 {info.checksum}")


@snapshot.command("verify")
@click.argument("day", type=click.DateTime(["%Y-%m-%d"]))
@pass_ctx
def snapshot_verify(ctx: Context, day: datetime) -> None:
    """Rebuild a published snapshot from history and compare it with what was published."""
    from rserz_soap.db.uow import Database
    from rserz_soap.usecases import snapshots

    with _connected(ctx.settings) as (_settings, _urls, engine):
        same = snapshots.reproduces(Database(engine).unit_of_work(), day.date())
    click.echo("reproduces: the same rows and checksum" if same else "DIFFERS from what was published")
    sys.exit(0 if same else 1)
