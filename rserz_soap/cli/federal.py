"""The federal register: reconciliation, lookups, pushes and daily changes."""

from __future__ import annotations

import os
import sys
from datetime import date, datetime
from typing import Any

import click
from sqlalchemy import Engine

from rserz_soap.cli.main import Context, main, pass_ctx
from rserz_soap.cli.main import connected as _connected
from rserz_soap.config import Settings
from rserz_soap.db.uow import Database, UnitOfWork
from rserz_soap.runtime.services import ServiceUrls


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
    from rserz_soap.usecases.reconcile import Filter, Reconciler

    flt = Filter(smo, mo, since.date() if since else None)
    with _connected(ctx.settings) as (settings, urls, engine):
        reconciler = Reconciler(_uow(engine), _mpi(settings, urls, engine), settings.region_okato)
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
    from rserz_soap.usecases import reconcile as rec

    with _connected(ctx.settings) as (_settings, _urls, engine):
        for p in [rec.progress(_uow(engine), run_id)] if run_id else rec.runs(_uow(engine)):
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
    from rserz_soap.usecases import reconcile as rec

    with _connected(ctx.settings) as (_settings, _urls, engine):
        click.echo("enp\tcategory\tfield\tregional\tfederal\tresolution")
        for d in rec.report(_uow(engine), run_id, category=category):
            click.echo(
                f"{d.enp}\t{d.category}\t{d.field}\t{d.regional or ''}\t{d.federal or ''}\t{d.resolution}"
            )


@reconcile.command("cancel")
@click.argument("run_id", type=int)
@click.option("--actor", default=lambda: os.environ.get("USER", "operator"), show_default="$USER")
@pass_ctx
def reconcile_cancel(ctx: Context, run_id: int, actor: str) -> None:
    """Stop a run after its current batch; what it settled stays in the report."""
    from rserz_soap.usecases import reconcile as rec

    with _connected(ctx.settings) as (settings, urls, engine):
        rec.Reconciler(_uow(engine), _mpi(settings, urls, engine), settings.region_okato).cancel(
            run_id, actor=actor
        )
        click.echo(_progress_line(rec.progress(_uow(engine), run_id)))


def _mpi(settings: Settings, urls: ServiceUrls, engine: Engine | None = None) -> Any:
    from rserz_soap.federal.mpi_client import MpiClient
    from rserz_soap.jobs.redis_conn import redis_from_url

    return MpiClient.from_settings(
        settings, redis_from_url(urls.redis_url), Database(engine) if engine is not None else None
    )


def _uow(engine: Engine) -> UnitOfWork:
    return Database(engine).unit_of_work()


def _drive(settings: Settings, urls: ServiceUrls, engine: Engine, run_id: int, here: bool) -> None:
    from rserz_soap.jobs.federal import enqueue_reconciliation
    from rserz_soap.jobs.redis_conn import redis_from_url
    from rserz_soap.usecases import reconcile as rec

    if not here:
        job = enqueue_reconciliation(redis_from_url(urls.redis_url), run_id)
        click.echo(f"queued as job {job.id}; follow it with: rserz reconcile status {run_id}")
        return
    reconciler = rec.Reconciler(_uow(engine), _mpi(settings, urls, engine), settings.region_okato)
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
    """Look a person up in the federal register (getPersonData, §3.1.2) by one key and print the card."""
    key = _federal_key(enp, snils, doc, policy_num, fio, dr)
    with _connected(ctx.settings) as (settings, urls, engine):
        client = _mpi(settings, urls, engine)
        day = on.date() if on else None
        if "fio" in key:
            fam, im, ot, birth = key["fio"]
            count, found = client.find_persons(fam, im, ot, birth)
            if count > 1:
                click.echo(f"{count} persons match; narrow the key")
                sys.exit(1)
            key = {"oip": found[0][2]} if found else {"oip": "0"}
        person = client.person(on=day, **key)
    if person is None:
        click.echo("not found in ФЕРЗЛ")
        sys.exit(1)
    click.echo(describe(person))


def describe(p: Any) -> str:
    """A federal card for a person to read."""
    lines = [
        f"ЕНП {p.enp}  ОИП {p.oip}  [{p.status}]",
        f"{p.fam or ''} {p.im or ''} {p.ot or ''}".strip() + f", пол {p.w}, д.р. {p.dr.isoformat()}",
    ]
    if p.ss:
        lines.append(f"СНИЛС {p.ss}")
    if p.ddeath:
        lines.append(f"дата смерти {p.ddeath.isoformat()}")
    for d in p.documents:
        lines.append(
            f"документ {d.doctype} {d.docser or ''} {d.docnum}" + (" (основной)" if d.is_main else "")
        )
    for pol in sorted(p.policies, key=lambda x: x.dbeg):
        end = pol.dstop or pol.dend
        lines.append(
            f"полис {pol.policy_type} {pol.ser or ''} {pol.num or pol.enp or ''} [{pol.status}], СМО {pol.smo},"
            f" с {pol.dbeg.isoformat()}" + (f" по {end.isoformat()}" if end else "")
        )
    return "\n".join(lines)


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
        keys.append({"snils": (snils, dr.date() if dr else None)})
    if doc:
        keys.append({"document": (int(doc[0]), doc[1] or None, doc[2])})
    if policy_num:
        keys.append({"policy": (None, policy_num)})
    if fio:
        if dr is None:
            raise click.UsageError("--fio needs --dr")
        keys.append({"fio": (fio[0], fio[1] or None, fio[2] or None, dr.date())})
    if len(keys) != 1:
        raise click.UsageError("give exactly one key: --enp, --snils, --doc, --policy or --fio with --dr")
    return keys[0]


@federal.command("push")
@pass_ctx
def federal_push(ctx: Context) -> None:
    """Send the accepted changes waiting for ФЕРЗЛ now (the scheduler does it every 5 s)."""
    from rserz_soap.usecases.outbox import push_pending
    from rserz_soap.usecases.wiring import build_intake

    with _connected(ctx.settings) as (settings, urls, engine):
        report = push_pending(
            _uow(engine),
            build_intake(_uow(engine), settings),
            _mpi(settings, urls, engine),
            parallel=settings.ferzl_push_parallel,
        )
    click.echo(
        f"sent {report.sent}: accepted {report.accepted}, rejected {report.rejected}; not sent {report.not_sent}"
    )


@federal.command("sync")
@pass_ctx
def federal_sync(ctx: Context) -> None:
    """Take ФЕРЗЛ's events now (getChangesEvent, getInsuranceStatusChanges; the scheduler does it hourly)."""
    from rserz_soap.usecases import federal_events

    with _connected(ctx.settings) as (settings, urls, engine):
        client = _mpi(settings, urls, engine)
        for feed in federal_events.FEEDS:
            r = federal_events.pull(
                _uow(engine), client, settings.region_okato, today=date.today(), feed=feed
            )
            window = f"{r.window[0]}…{r.window[1]}" if r.window else "-"
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r.outcomes.items())) or "nothing new"
            click.echo(f"{feed} {window}: {r.events} events ({outcomes}), {r.duplicates} repeats skipped")
