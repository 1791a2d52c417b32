"""The register's routine by hand: backups and their restore, and the daily change files of the СМО."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import click

from rserz_soap.cli.main import Context, group, main, pass_ctx
from rserz_soap.cli.main import connected as _connected
from rserz_soap.files.change_files import ENCODINGS


@main.command("backup")
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="default: RSERZ_BACKUP_DIR"
)
@click.option("--keep", type=int, help="backups kept in the folder (default: RSERZ_BACKUP_KEEP)")
@pass_ctx
def backup(ctx: Context, out_dir: Path | None, keep: int | None) -> None:
    """Back up the register: pg_dump (custom format), a sha256 and a JSON manifest; older backups beyond
    --keep are removed. `rserz restore FILE --into NAME` brings one back (docs/deployment.md)."""
    from tqdm import tqdm

    from rserz_soap.db.backup import count_tables
    from rserz_soap.usecases import backups

    with _connected(ctx.settings) as (settings, urls, _engine):
        target = out_dir or settings.backup_path
        total = count_tables(urls.database_url)
        with tqdm(total=total, unit=" tables", disable=not sys.stderr.isatty()) as bar:
            try:
                done = backups.backup(
                    urls.database_url,
                    target,
                    keep=keep if keep is not None else settings.backup_keep,
                    on_table=lambda _t: bar.update(1),
                )
            except backups.BackupError as exc:
                raise click.ClickException(str(exc)) from None
    m = done.manifest
    click.echo(f"{done.path}: {m['bytes']} bytes, sha256 {m['sha256']}, revision {m['alembic_revision']}")
    click.echo("  " + ", ".join(f"{t} {f['rows']}" for t, f in m["tables"].items()))
    if m["changed_during_dump"]:
        click.echo("  changed while dumping: " + ", ".join(m["changed_during_dump"]))
    for p in done.removed:
        click.echo(f"  removed (retention): {p.name}")


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--into",
    required=True,
    help="an empty database: its URL, or a name to create on the configured server (never the live one)",
)
@pass_ctx
def restore(ctx: Context, file: Path, into: str) -> None:
    """Restore a backup into an empty database, after checking its sha256 (a mismatch is refused), and
    compare the main tables' row counts and checksums with the backup's manifest."""
    from tqdm import tqdm

    from rserz_soap.usecases import backups

    with (
        _connected(ctx.settings) as (_settings, urls, _engine),
        tqdm(total=4, unit=" steps", disable=not sys.stderr.isatty()) as bar,
    ):
        try:
            done = backups.restore(file, into, server_url=urls.database_url, on_step=lambda _s: bar.update(1))
        except backups.BackupError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"restored {file.name} into {done.database} (revision {done.manifest['alembic_revision']})")
    if done.differences:
        for table, (was, now) in done.differences.items():
            click.echo(f"  DIFFERS {table}: backup {was}, restored {now}")
        sys.exit(1)
    click.echo(
        f"  {len(done.manifest['tables'])} main tables: the same row counts and checksums as backed up"
    )


files = group(
    "files", "Exchange files of the file era: OPLIST packages in, REPLIST/FLK_P (and daily lists) out."
)


@files.command("export")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="default: yesterday")
@click.option("--smo", help="one СМО's package (default: every active СМО)")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="default: RSERZ_EXPORTS_DIR/smo (packages go to DIR/<date>/)",
)
@pass_ctx
def files_export(ctx: Context, day: datetime | None, smo: str | None, out_dir: Path | None) -> None:
    """Write the day's package of every СМО: REPLIST (protocols of what it sent), STOPLIST (its insurance
    stopped), RECLIST (corrections by the ТФОМС) as XML in a ZIP, in the СМО's encoding, with a manifest.
    The same data getProtocol, getStopList and getCorrections serve; layouts: docs/exports.md."""
    from tqdm import tqdm

    from rserz_soap.db.uow import Database
    from rserz_soap.usecases import change_files

    when = day.date() if day else date.today() - timedelta(days=1)
    with _connected(ctx.settings) as (settings, _urls, engine):
        db = Database(engine)
        try:
            total = len(change_files.smos(db.reading, smo))
        except change_files.UnknownSmo as exc:
            raise click.ClickException(str(exc)) from None
        with tqdm(total=total, unit=" СМО", disable=not sys.stderr.isatty()) as bar:
            done = change_files.export_day(
                db.reading,
                when,
                out_dir or settings.exports_path / "smo",
                okato=settings.region_okato,
                smo=smo,
                on_package=lambda _p: bar.update(1),
            )
    for p in done:
        counts = ", ".join(f"{k} {v}" for k, v in p.counts.items())
        click.echo(f"{p.path} ({p.encoding}): {counts}; sha256 {p.sha256}")
    if not done:
        click.echo("no active СМО is registered: nothing written")


@files.command("encoding")
@click.argument("smo")
@click.argument("encoding", type=click.Choice(ENCODINGS))
@pass_ctx
def files_encoding(ctx: Context, smo: str, encoding: str) -> None:
    """Set the encoding of the files written for an СМО (its daily package)."""
    from rserz_soap.db.uow import Database
    from rserz_soap.usecases import participants

    with _connected(ctx.settings) as (_settings, _urls, engine):
        try:
            participants.set_file_encoding(Database(engine).unit_of_work(), "smo", smo, encoding)
        except participants.ParticipantError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"СМО {smo}: files in {encoding}")
