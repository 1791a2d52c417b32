"""`rserz extract`: an extract of a person's record (ЕНП, СМО, dates, policy, a QR code of the policy)."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click

from rserz_soap.cli.main import Context, connected, main, pass_ctx


@main.command("extract")
@click.option("--enp", required=True, help="the person's ЕНП (an alias of a merged duplicate works too)")
@click.option("--on", type=click.DateTime(["%Y-%m-%d"]), help="the state on this date (default: today)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="default: extract-<ЕНП>.pdf")
@click.option("--font", envvar="RSERZ_EXTRACT_FONT", help="TrueType font with Cyrillic (RSERZ_EXTRACT_FONT)")
@pass_ctx
def extract(ctx: Context, enp: str, on: datetime | None, out: Path | None, font: str | None) -> None:
    """Write the extract of a person's record as a PDF (the policy as a QR code)."""
    from rserz_soap.db.uow import Database
    from rserz_soap.files.extract_pdf import PdfRenderer, find_font
    from rserz_soap.usecases.extract import policy_extract

    day = on.date() if on else date.today()
    with connected(ctx.settings) as (_settings, _urls, engine):
        found = policy_extract(Database(engine).unit_of_work(), enp, day)
    if found is None:
        click.echo(f"ЕНП {enp}: no such person, or no policy", err=True)
        sys.exit(1)
    target = out or Path(f"extract-{enp}.pdf")
    target.write_bytes(PdfRenderer(find_font(font)).render(found))
    click.echo(f"{target}: {found.policy_letter} {found.policy_number}, СМО {found.smo_code}")
