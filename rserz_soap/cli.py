"""The `rserz` command: every process and every operator task of the hub."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

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
def _connected(settings: Settings) -> Iterator[tuple[Settings, ServiceUrls, Engine]]:
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
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = Context(settings)


@main.command()
@pass_ctx
def up(ctx: Context) -> None:
    """Start the whole hub: databases, migrations, НСИ, PKI, demo region, web, worker and scheduler."""
    from rserz_soap.runtime.bootstrap import prepare
    from rserz_soap.runtime.supervisor import Supervisor

    with _connected(ctx.settings) as (settings, urls, engine):
        click.echo(f"PostgreSQL: {'embedded, ' if not ctx.settings.database_url else ''}{urls.database_url}")
        click.echo(f"Redis:      {'embedded, ' if not ctx.settings.redis_url else ''}{urls.redis_url}")
        prepare(settings, engine, say=click.echo)
        engine.dispose()
        env = dict(
            os.environ,
            RSERZ_DATABASE_URL=urls.database_url,
            RSERZ_REDIS_URL=urls.redis_url,
            RSERZ_VAR_DIR=settings.var_dir,
        )
        status = Supervisor(settings, env, say=click.echo).run()
    click.echo("stopped.")
    sys.exit(status)


@main.command()
@pass_ctx
def serve(ctx: Context) -> None:
    """Run the web application under gunicorn (RSERZ_HOST:RSERZ_PORT, RSERZ_WEB_WORKERS workers)."""
    from rserz_soap.runtime.web_server import serve as run_server

    with _connected(ctx.settings) as (settings, _urls, engine):
        engine.dispose()
        run_server(settings)


@main.command()
@pass_ctx
def emulators(ctx: Context) -> None:
    """Run the ФЕРЗЛ emulator (own database, seeded once) on 127.0.0.1:RSERZ_EMULATORS_PORT."""
    from rserz_soap.emulators.server import serve_emulators

    with _connected(ctx.settings) as (settings, urls, engine):
        engine.dispose()
        serve_emulators(settings, urls.database_url)


@main.command()
@click.option("--burst", is_flag=True, help="Run the jobs that are queued, then exit.")
@pass_ctx
def worker(ctx: Context, burst: bool) -> None:
    """Run an RQ worker on every queue of the hub, in priority order."""
    from redis import Redis
    from rq import Worker

    from rserz_soap.jobs import queues

    with _connected(ctx.settings) as (_settings, urls, _engine):
        conn = Redis.from_url(urls.redis_url)
        # with its scheduler: RQ retries with intervals (the federal jobs') wait in Redis, not in a process
        Worker(list(queues.ALL), connection=conn, name=f"rserz-worker-{os.getpid()}").work(
            burst=burst, with_scheduler=True
        )


@main.command()
@pass_ctx
def scheduler(ctx: Context) -> None:
    """Run the scheduler that enqueues the hub's periodic jobs."""
    from redis import Redis

    from rserz_soap.jobs.schedule import build_scheduler

    with _connected(ctx.settings) as (_settings, urls, _engine):
        build_scheduler(Redis.from_url(urls.redis_url)).start()  # type: ignore[no-untyped-call]


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


# -- the federal register ----------------------------------------------------------------------------------


@main.group()
def reconcile() -> None:
    """Reconciliation with the federal register (ФЕРЗЛ): start, follow, read the report."""


@reconcile.command("start")
@click.option("--smo", help="only persons insured by this СМО (F002 code)")
@click.option("--mo", help="only persons attached to this МО (F003 code)")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="only persons changed since this date")
@click.option(
    "--policy",
    type=click.Choice(["federal_wins", "review", "report"]),
    help="default: RSERZ_RECONCILE_POLICY",
)
@click.option("--here", is_flag=True, help="run in this process instead of the worker, showing progress")
@click.option("--actor", default=lambda: os.environ.get("USER", "operator"), show_default="$USER")
@pass_ctx
def reconcile_start(
    ctx: Context,
    smo: str | None,
    mo: str | None,
    since: datetime | None,
    policy: str | None,
    here: bool,
    actor: str,
) -> None:
    """Start a reconciliation of the whole region, or of the persons a filter selects."""
    from rserz_soap.registry.reconcile import Filter, Reconciler

    flt = Filter(smo, mo, since.date() if since else None)
    with _connected(ctx.settings) as (settings, urls, engine):
        reconciler = Reconciler(engine, _federal(settings, urls, engine), settings.region_code)
        run_id = reconciler.start(flt, policy=policy or settings.reconcile_policy, actor=actor)
        click.echo(f"reconciliation {run_id}: {flt.to_json() or 'the whole region'}")
        _drive(settings, urls, engine, run_id, here)


@reconcile.command("resume")
@click.argument("run_id", type=int)
@click.option("--here", is_flag=True, help="run in this process instead of the worker, showing progress")
@pass_ctx
def reconcile_resume(ctx: Context, run_id: int, here: bool) -> None:
    """Resume a run from its last settled batch (the scheduler also does this for a run whose worker died)."""
    with _connected(ctx.settings) as (settings, urls, engine):
        _drive(settings, urls, engine, run_id, here)


@reconcile.command("status")
@click.argument("run_id", type=int, required=False)
@pass_ctx
def reconcile_status(ctx: Context, run_id: int | None) -> None:
    """Progress of one run, or of the latest runs."""
    from rserz_soap.registry import reconcile as rec

    with _connected(ctx.settings) as (_settings, _urls, engine):
        for p in [rec.progress(engine, run_id)] if run_id else rec.runs(engine):
            click.echo(_progress_line(p))


@reconcile.command("report")
@click.argument("run_id", type=int)
@click.option(
    "--category",
    type=click.Choice(["missing_regionally", "missing_federally", "differs", "accepted_deviation"]),
)
@pass_ctx
def reconcile_report(ctx: Context, run_id: int, category: str | None) -> None:
    """The differences a run found, one per person and field (tab-separated)."""
    from rserz_soap.registry import reconcile as rec

    with _connected(ctx.settings) as (_settings, _urls, engine):
        click.echo("enp\tcategory\tfield\tregional\tfederal\tresolution")
        for d in rec.report(engine, run_id, category=category):
            click.echo(
                f"{d.enp}\t{d.category}\t{d.field}\t{d.regional or ''}\t{d.federal or ''}\t{d.resolution}"
            )


@reconcile.command("cancel")
@click.argument("run_id", type=int)
@click.option("--actor", default=lambda: os.environ.get("USER", "operator"), show_default="$USER")
@pass_ctx
def reconcile_cancel(ctx: Context, run_id: int, actor: str) -> None:
    """Stop a run after its current batch; what it settled stays in the report."""
    from rserz_soap.registry import reconcile as rec

    with _connected(ctx.settings) as (settings, urls, engine):
        rec.Reconciler(engine, _federal(settings, urls, engine), settings.region_code).cancel(
            run_id, actor=actor
        )
        click.echo(_progress_line(rec.progress(engine, run_id)))


def _federal(settings: Settings, urls: ServiceUrls, engine: Engine | None = None) -> Any:
    from redis import Redis

    from rserz_soap.federal.client import FederalClient

    return FederalClient.from_settings(settings, Redis.from_url(urls.redis_url), engine)


def _drive(settings: Settings, urls: ServiceUrls, engine: Engine, run_id: int, here: bool) -> None:
    from redis import Redis

    from rserz_soap.jobs.federal import enqueue_reconciliation
    from rserz_soap.registry import reconcile as rec

    if not here:
        job = enqueue_reconciliation(Redis.from_url(urls.redis_url), run_id)
        click.echo(f"queued as job {job.id}; follow it with: rserz reconcile status {run_id}")
        return
    reconciler = rec.Reconciler(engine, _federal(settings, urls, engine), settings.region_code)
    while True:
        progress = reconciler.run(run_id, max_batches=1)
        click.echo(_progress_line(progress))
        if progress.state != "running":
            break


def _progress_line(p: Any) -> str:
    cats = ", ".join(f"{k} {v}" for k, v in sorted(p.by_category.items())) or "no differences"
    return (
        f"run {p.run_id} [{p.state}] {p.policy} {p.filter.to_json() or 'whole region'}: "
        f"{p.batches} batches, {p.persons} persons, {p.differences} differences ({cats}), "
        f"{p.applied} corrected; at ЕНП {p.cursor_enp or '-'}" + (f"; error: {p.error}" if p.error else "")
    )


@main.group()
def federal() -> None:
    """The federal register (ФЕРЗЛ): search it, push waiting changes, take its daily changes."""


@federal.command("find")
@click.option("--enp")
@click.option("--snils")
@click.option("--doc", nargs=3, metavar="TYPE SERIES NUMBER", help="identity document; '' for no series")
@click.option("--policy", "policy_num", metavar="NUMBER")
@click.option("--fio", nargs=3, metavar="FAM IM OT", help="with --dr; '' for no patronymic")
@click.option("--dr", type=click.DateTime(["%Y-%m-%d"]), help="birth date (with --fio or --snils)")
@click.option("--on", type=click.DateTime(["%Y-%m-%d"]), help="the state on this date")
@pass_ctx
def federal_find(
    ctx: Context,
    enp: str | None,
    snils: str | None,
    doc: tuple[str, str, str] | None,
    policy_num: str | None,
    fio: tuple[str, str, str] | None,
    dr: datetime | None,
    on: datetime | None,
) -> None:
    """Look a person up in the federal register by any one key and print the federal card."""
    from rserz_soap.federal.xml import describe

    key = _federal_key(enp, snils, doc, policy_num, fio, dr)
    with _connected(ctx.settings) as (settings, urls, engine):
        person = _federal(settings, urls, engine).get_person_data(on=on.date() if on else None, **key)
    if person is None:
        click.echo("not found in ФЕРЗЛ")
        sys.exit(1)
    click.echo(describe(person))


def _federal_key(
    enp: str | None,
    snils: str | None,
    doc: tuple[str, str, str] | None,
    policy_num: str | None,
    fio: tuple[str, str, str] | None,
    dr: datetime | None,
) -> dict[str, Any]:
    keys: list[dict[str, Any]] = []
    if enp:
        keys.append({"enp": enp})
    if snils:
        keys.append({"snils": {"snils": snils, "birthDate": dr.date() if dr else None}})
    if doc:
        keys.append({"document": {"docType": int(doc[0]), "docSer": doc[1] or None, "docNum": doc[2]}})
    if policy_num:
        keys.append({"policy": {"policyNum": policy_num}})
    if fio:
        if dr is None:
            raise click.UsageError("--fio needs --dr")
        keys.append(
            {"fio": {"fam": fio[0], "im": fio[1] or None, "ot": fio[2] or None, "birthDate": dr.date()}}
        )
    if len(keys) != 1:
        raise click.UsageError("give exactly one key: --enp, --snils, --doc, --policy or --fio with --dr")
    return keys[0]


@federal.command("push")
@pass_ctx
def federal_push(ctx: Context) -> None:
    """Send the accepted changes waiting for ФЕРЗЛ now (the scheduler does it every 30 s)."""
    from rserz_soap.registry.federal_sync import push_pending
    from rserz_soap.registry.service import build_registry

    with _connected(ctx.settings) as (settings, urls, engine):
        report = push_pending(
            build_registry(engine, settings), _federal(settings, urls, engine), settings.region_code
        )
    click.echo(
        f"sent {report.sent}: accepted {report.accepted}, rejected {report.rejected}; not sent {report.not_sent}"
    )


@federal.command("sync")
@click.option(
    "--day", type=click.DateTime(["%Y-%m-%d"]), help="take this day again instead of the missing ones"
)
@pass_ctx
def federal_sync(ctx: Context, day: datetime | None) -> None:
    """Take the federal daily changes now (the scheduler does it hourly; missed days are caught up)."""
    from rserz_soap.registry import federal_sync as sync

    with _connected(ctx.settings) as (settings, urls, engine):
        client = _federal(settings, urls, engine)
        if day is not None:
            reports = [sync.sync_day(engine, client, settings.region_code, day.date(), again=True)]
        else:
            reports = sync.sync_changes(engine, client, settings.region_code, today=date.today())
    for r in reports:
        click.echo(
            f"{r.day}: {r.changes} changes, {r.applied} applied, {r.kept_pinned} kept pinned, "
            f"{r.unknown} unknown ЕНП, {r.duplicates} duplicate deliveries, {len(r.review)} for review"
        )
