"""`rserz military import`: a военкомат list (XML, CSV or XLSX, docs/military.md) suspends or resumes insurance."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import click

from rserz_soap.cli.main import Context, main, pass_ctx
from rserz_soap.cli.main import connected as _connected


@main.group()
def military() -> None:
    """Военкомат lists: persons entering service (insurance suspended) and leaving it (resumed)."""


@military.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="where to write the protocol (default: beside FILE)",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xml"]),
    default=None,
    help="the protocol's form (default: xml for an XML list, else csv)",
)
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "windows-1251"]),
    default="utf-8",
    show_default=True,
    help="the protocol CSV's encoding",
)
@pass_ctx
def military_import(ctx: Context, file: Path, out: Path | None, fmt: str | None, encoding: str) -> None:
    """Import a военкомат list FILE and write its protocol (one line per row: status, code, message).

    FILE is XML, CSV (';', UTF-8 or windows-1251) or XLSX in the layout of docs/military.md: VK_CODE,
    VK_NAME, LIST_NUM, LIST_DATE, KIND (призыв/увольнение), FAM, IM, OT, DR, DOCTYPE, DOCSER, DOCNUM, SNILS,
    DSTART, DEND.

    Entering: ФЕРЗЛ suspendOmsPolicy, then the register suspends the insurance from the start date (П025,
    the ЕНП kept, the СМО's STOPLIST). Leaving: ФЕРЗЛ restores the policy (application 2/3), the register
    reopens it from the end date with the same ЕНП and СМО. Unmatched or ambiguous rows go to the buffer
    for review. Importing the same list again changes nothing and writes the first protocol again.
    Exit status: 0 the list was taken (row errors are in the protocol), 2 the file was refused as a whole,
    3 ФЕРЗЛ could not answer (nothing is lost: import the same list again).
    """
    from rserz_soap.domain.military import MilitaryFileError
    from rserz_soap.files import military as files
    from rserz_soap.usecases import military as usecase
    from rserz_soap.usecases.federal_port import FederalError, FederalUnavailable

    raw = file.read_bytes()
    try:
        lst = files.read_list(raw, file.name, today=date.today())
    except MilitaryFileError as exc:
        click.echo(f"refused: {exc}", err=True)
        sys.exit(2)
    click.echo(
        f"list {lst.header.key} ({lst.source_format}): {len(lst.rows)} rows checked, {len(lst.errors)} with errors"
    )
    with _connected(ctx.settings) as (settings, urls, engine):
        from rserz_soap.cli.federal import _mpi, _uow

        federal = _mpi(settings, urls, engine) if settings.federal_first else None
        if federal is None:
            click.echo("ФЕРЗЛ: off (RSERZ_FEDERAL_FIRST=0): the register only")
        try:
            protocol = usecase.import_list(
                _uow(engine),
                federal,
                lst,
                terr=settings.region_okato,
                file_name=file.name,
                progress=lambda line: click.echo(f"  {line}"),
            )
        except usecase.ListConflict as exc:
            click.echo(f"refused: {exc}", err=True)
            sys.exit(2)
        except (FederalUnavailable, FederalError) as exc:
            click.echo(f"ФЕРЗЛ: {exc}; no protocol stored — run the same list again later", err=True)
            sys.exit(3)
    form = fmt or ("xml" if lst.source_format == "xml" else "csv")
    body = files.protocol_xml(protocol) if form == "xml" else files.protocol_csv(protocol, encoding=encoding)
    target_dir = out or file.parent
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / files.protocol_name(protocol, form)
    target.write_bytes(body)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(protocol.counts.items())) or "no rows"
    click.echo(f"{'repeat: nothing changed; ' if protocol.repeat else ''}{counts}")
    click.echo(f"protocol: {target}")


@military.command("resolve")
@click.argument("entry_id", type=int)
@click.option("--person", "person_id", type=int, help="the register's person the row is about")
@click.option("--dismiss", is_flag=True, help="reject the row: it changes nothing")
@click.option("--reason", required=True, help="why (kept in the buffer's trail)")
@click.option("--actor", default=lambda: os.environ.get("USER", "operator"), show_default="$USER")
@pass_ctx
def military_resolve(
    ctx: Context, entry_id: int, person_id: int | None, dismiss: bool, reason: str, actor: str
) -> None:
    """Settle a held row of a военкомат list (a buffer entry awaiting review, BUFFER_ENTRY in the protocol):
    apply it to --person (ФЕРЗЛ first, then the register, as the import would have), or --dismiss it."""
    from rserz_soap.usecases import military as usecase
    from rserz_soap.usecases.federal_port import FederalError, FederalUnavailable

    if dismiss == (person_id is not None):
        raise click.UsageError("give exactly one of --person and --dismiss")
    with _connected(ctx.settings) as (settings, urls, engine):
        from rserz_soap.cli.federal import _mpi, _uow

        federal = _mpi(settings, urls, engine) if settings.federal_first else None
        try:
            status = usecase.resolve(_uow(engine), federal, entry_id, person_id, actor=actor, reason=reason)
        except usecase.NotHeld as exc:
            click.echo(f"refused: {exc}", err=True)
            sys.exit(1)
        except (FederalUnavailable, FederalError) as exc:
            click.echo(f"ФЕРЗЛ: {exc}; the row is still held — try again later", err=True)
            sys.exit(3)
    click.echo(f"buffer entry {entry_id}: {status}")
