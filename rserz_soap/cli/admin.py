"""Operator tasks: schema, demo region, НСИ, certificates, status."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from rserz_soap.cli.main import Context, main, pass_ctx
from rserz_soap.cli.main import connected as _connected


@main.command()
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
@pass_ctx
def migrate(ctx: Context, revision: str) -> None:
    """Upgrade the database schema."""
    from rserz_soap.db import migrate as migrations

    with _connected(ctx.settings) as (_settings, _urls, engine):
        migrations.upgrade(engine, revision)
        click.echo(f"schema at revision {migrations.current_revision(engine)}")


@main.command()
@click.option(
    "--persons", type=click.IntRange(min=1), default=None, help="How many persons [RSERZ_DEMO_PERSONS]."
)
@click.option("--seed", "seed_value", type=int, default=None, help="Random seed [RSERZ_DEMO_SEED].")
@click.option("--no-progress", is_flag=True, help="No progress bar (logs, CI).")
@pass_ctx
def seed(ctx: Context, persons: int | None, seed_value: int | None, no_progress: bool) -> None:
    """Generate a synthetic region (deterministic for a seed) and bulk-load it."""
    from rserz_soap.db import migrate as migrations
    from rserz_soap.runtime import bootstrap

    with _connected(ctx.settings) as (settings, _urls, engine):
        migrations.upgrade(engine)
        bootstrap.import_nsi(engine, _bundled(), say=lambda _m: None)
        n = persons or settings.demo_persons
        s = settings.demo_seed if seed_value is None else seed_value
        started = datetime.now()
        bootstrap.seed(settings, engine, n, s, progress=not no_progress)
        seconds = (datetime.now() - started).total_seconds()
        click.echo(f"{n} persons in {seconds:.1f} s ({n / seconds:,.0f} persons/s)")


def _bundled() -> list[Path]:
    from rserz_soap.files.nsi import bundled_files

    return bundled_files()


@main.group()
def nsi() -> None:
    """НСИ directories: import new versions, list what is loaded, look a record up on a date."""


@nsi.command("import")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bundled", is_flag=True, help="Import the demo directories shipped with the hub.")
@pass_ctx
def nsi_import(ctx: Context, files: tuple[Path, ...], bundled: bool) -> None:
    """Import directory FILES (FFOMS XML); every earlier version is kept."""
    from rserz_soap.db import migrate as migrations
    from rserz_soap.runtime.bootstrap import import_nsi

    paths = list(files) + (_bundled() if bundled else [])
    if not paths:
        raise click.UsageError("name at least one FILE or --bundled")
    with _connected(ctx.settings) as (_settings, _urls, engine):
        migrations.upgrade(engine)
        import_nsi(engine, paths, say=click.echo)


@nsi.command("list")
@click.argument("directory", required=False)
@pass_ctx
def nsi_list(ctx: Context, directory: str | None) -> None:
    """List the imported versions (of one DIRECTORY or of all)."""
    from rserz_soap.db import nsi as repo

    with _connected(ctx.settings) as (_settings, _urls, engine), engine.connect() as conn:
        for v in repo.versions(conn, directory):
            click.echo(
                f"{v.directory:5} {v.version or '-':12} {v.records:6} records  "
                f"{v.imported_at:%Y-%m-%d %H:%M}  {v.file_name}"
            )


@nsi.command("show")
@click.argument("directory")
@click.argument("code")
@click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Date (default today).")
@pass_ctx
def nsi_show(ctx: Context, directory: str, code: str, on: datetime | None) -> None:
    """Show the record CODE of DIRECTORY valid on a date."""
    from rserz_soap.db import nsi as repo

    day = on.date() if on else date.today()
    with _connected(ctx.settings) as (_settings, _urls, engine), engine.connect() as conn:
        record = repo.record_on(conn, directory, code, day)
    if record is None:
        raise click.ClickException(f"{directory} has no record {code} valid on {day}")
    click.echo(f"{record.directory} {record.code} valid {record.date_beg} … {record.date_end or ''}")
    for key, value in record.data.items():
        click.echo(f"  {key}: {value}")


@main.group()
def certs() -> None:
    """The development PKI under var/pki and the participants' registered certificates."""


@certs.command("init")
@pass_ctx
def certs_init(ctx: Context) -> None:
    """Make the CA, the hub's and every demo participant's certificate (kept if present) and register them."""
    from rserz_soap.db import migrate as migrations
    from rserz_soap.runtime.bootstrap import import_nsi, init_certificates

    with _connected(ctx.settings) as (settings, _urls, engine):
        migrations.upgrade(engine)
        import_nsi(engine, _bundled(), say=lambda _m: None)
        init_certificates(settings, engine, say=click.echo)


@certs.command("register")
@click.argument("participant", metavar="KIND:CODE")
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="The participant's name, to create a participant not registered yet.")
@pass_ctx
def certs_register(ctx: Context, participant: str, certificate: Path, name: str | None) -> None:
    """Register CERTIFICATE (PEM) for a participant, e.g. `smo:45001` or `mo:450001` (a new key of a real
    СМО or МО, before it switches; its old certificate stays valid until revoked or expired)."""
    from rserz_soap.db.uow import Database
    from rserz_soap.usecases.participants import ParticipantError, enrol

    kind, _, code = participant.partition(":")
    with _connected(ctx.settings) as (_settings, _urls, engine):
        try:
            found, sha = enrol(
                Database(engine).unit_of_work(), kind, code or kind, name, certificate.read_bytes()
            )
        except ParticipantError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{found.kind}:{found.code} {found.name}: certificate sha256 {sha} registered")


@certs.command("list")
@pass_ctx
def certs_list(ctx: Context) -> None:
    """Print the registered participants, their certificates and the folder of each under var/pki."""
    from rserz_soap.db.participants import list_certificates
    from rserz_soap.xmlsig.devpki import folder_name, load_issued

    with _connected(ctx.settings) as (settings, _urls, engine), engine.connect() as conn:
        registered = list_certificates(conn)
    folders = {}
    if (settings.pki_dir / "participants.json").exists():
        folders = {c.sha256: folder_name(c.spec) for c in load_issued(settings.pki_dir)}
    for c in registered:
        p = c.participant
        state = "REVOKED" if c.revoked else f"valid to {c.not_after:%Y-%m-%d}"
        click.echo(
            f"{p.kind:6} {p.code:8} {folders.get(c.sha256, '-'):14} {c.sha256[:16]}…  {state}  {p.name}"
        )


@main.command()
@pass_ctx
def status(ctx: Context) -> None:
    """Health of the databases, the schema, the register's size, queues, workers and the scheduler."""
    from rserz_soap.runtime.status import collect

    with _connected(ctx.settings) as (settings, urls, engine):
        for line in collect(settings, urls, engine):
            click.echo(line)


@main.group()
def demo() -> None:
    """The demo region: whom a new client can ask about."""


@demo.command("persons")
@click.option(
    "--count",
    type=click.IntRange(min=0, max=100),
    default=5,
    show_default=True,
    help="How many insured persons besides the well-known ones.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def demo_persons(ctx: Context, count: int, as_json: bool) -> None:
    """The well-known demo persons (the same in every demo region) and a few more insured ones:
    ЕНП, name, birth date, СМО, policy, МО."""
    import json

    from rserz_soap.db.uow import Database
    from rserz_soap.demo.region import SHOWCASE
    from rserz_soap.usecases.identify import Key, insured_persons

    keys = [Key(fam=s.fam, im=s.im, ot=s.ot, dr=s.birth_date) for s in SHOWCASE]
    with _connected(ctx.settings) as (_settings, _urls, engine):
        cards = insured_persons(Database(engine).reading(), keys, count)
    for card in cards:
        period = next((p for p in sorted(card.insurance, key=lambda p: p.dbeg) if p.dstop is None), None)
        attached = sorted(a.mo_code for a in card.attachments if a.date_out is None)
        row = {
            "enp": card.enp,
            "fam": card.data.fam,
            "im": card.data.im,
            "ot": card.data.ot,
            "dr": card.data.dr.isoformat(),
            "smo": period.smo_code if period else None,
            "npolis": period.npolis if period else None,
            "mo": attached[0] if attached else None,
        }
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            name = " ".join(p for p in (card.data.fam, card.data.im, card.data.ot) if p)
            click.echo(
                f"{row['enp']}  {name:<40} {row['dr']}  СМО {row['smo'] or '—'}  МО {row['mo'] or '—'}"
            )
