"""`rserz nsi update`: new directory versions from a folder or a URL, with a report of what changed."""

from __future__ import annotations

import sys
from datetime import date, datetime

import click

from rserz_soap.cli.main import Context, connected, group, pass_ctx
from rserz_soap.db.uow import Database
from rserz_soap.files.nsi import NsiFormatError

nsi = group("nsi", "НСИ directories: import, update, list, show.")


@nsi.command("update")
@click.option(
    "--from",
    "source",
    metavar="DIR-or-URL",
    help="a folder of *.xml, or an http(s) URL of one file or of a text index; default: RSERZ_NSI_SOURCE",
)
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="the day changes are judged pending from")
@pass_ctx
def nsi_update(ctx: Context, source: str | None, today: datetime | None) -> None:
    """Import new directory versions (the scheduler does it hourly) and say what each changed: codes
    added, changed and closed, with the day each takes effect. A version that starts later is stored now
    and checks see it from its DATEBEG. Files loaded before change nothing; one bad file refuses the
    whole update (exit status 1)."""
    from rserz_soap.jobs.nsi import update_from

    with connected(ctx.settings) as (settings, _urls, engine):
        where = source or settings.nsi_update_source
        click.echo(f"НСИ update from {where}")
        try:
            report = update_from(Database(engine), where, today.date() if today else date.today())
        except NsiFormatError as exc:
            click.echo(f"refused, nothing imported: {exc}", err=True)
            sys.exit(1)
    for change in report.directories:
        click.echo(f"  {change.summary()}")
    click.echo(f"{report.imported} new versions, {len(report.directories) - report.imported} loaded before")
