"""Snapshots (срезы): publish one for a date, list them, prove one reproduces from history."""

from __future__ import annotations

import os
import sys
from datetime import date, datetime
from pathlib import Path

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


@snapshot.command("export")
@click.argument("day", type=click.DateTime(["%Y-%m-%d"]), metavar="DATE")
@click.option("--format", "fmt", type=click.Choice(["xml", "csv"]), default="xml", show_default=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="default: RSERZ_EXPORTS_DIR/snapshots",
)
@click.option("--force", is_flag=True, help="write again even when an intact export of the snapshot is there")
@pass_ctx
def snapshot_export(ctx: Context, day: datetime, fmt: str, out_dir: Path | None, force: bool) -> None:
    """Export a published snapshot: the FFOMS-style XML list or the attachment-list CSV, with a manifest.

    The file depends only on the published snapshot: exporting it again gives the same bytes (the sha256
    in DIR/<file>.manifest.json). Layouts: docs/exports.md."""
    from tqdm import tqdm

    from rserz_soap.db.uow import Database
    from rserz_soap.usecases import snapshots

    with _connected(ctx.settings) as (settings, _urls, engine):
        db = Database(engine)
        target = out_dir or settings.exports_path / "snapshots"
        try:
            info = snapshots.published_one(db.reading(), day.date())
        except LookupError as exc:
            raise click.ClickException(f"{exc} (rserz snapshot publish --date {day:%Y-%m-%d})") from None
        with tqdm(
            total=info.persons, unit=" persons", unit_scale=True, disable=not sys.stderr.isatty()
        ) as bar:
            done = snapshots.export(
                db,
                day.date(),
                fmt,
                target,
                okato=settings.region_okato,
                on_rows=bar.update,
                force=force,
            )
    state = "written" if done.written else "already there, intact"
    click.echo(f"{done.path} ({state}): {done.persons} persons, {done.size} bytes, sha256 {done.sha256}")
