"""The register's routine by hand: backups and their restore, and the daily change files of the СМО."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rserz_soap.cli.main import Context, main, pass_ctx
from rserz_soap.cli.main import connected as _connected


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
