"""Processes: the web app, the worker, the scheduler, the emulators."""

from __future__ import annotations

import os

import click

from rserz_soap.cli.main import Context, main, pass_ctx
from rserz_soap.cli.main import connected as _connected


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


#: seconds between an RQ worker's maintenance rounds (RQ's default is 600)
WORKER_MAINTENANCE_S = 15


@main.command()
@click.option("--burst", is_flag=True, help="Run the jobs that are queued, then exit.")
@pass_ctx
def worker(ctx: Context, burst: bool) -> None:
    """Run an RQ worker on every queue of the hub, in priority order."""
    from rq import Worker

    from rserz_soap.jobs import queues
    from rserz_soap.jobs.redis_conn import redis_from_url

    with _connected(ctx.settings) as (_settings, urls, _engine):
        conn = redis_from_url(urls.redis_url)
        # with its scheduler: RQ retries with intervals (the federal jobs') wait in Redis, not in a process.
        # RQ restarts a scheduler that died (Redis restarted) or takes over the lock of a killed worker's
        # only in its maintenance round: every 10 minutes by default, 15 s here, so retries do not stall.
        Worker(
            list(queues.ALL),
            connection=conn,
            name=f"rserz-worker-{os.getpid()}",
            maintenance_interval=WORKER_MAINTENANCE_S,
        ).work(burst=burst, with_scheduler=True)


@main.command()
@pass_ctx
def scheduler(ctx: Context) -> None:
    """Run the scheduler that enqueues the hub's periodic jobs."""
    from rserz_soap.jobs.redis_conn import redis_from_url
    from rserz_soap.jobs.schedule import build_scheduler

    with _connected(ctx.settings) as (_settings, urls, _engine):
        build_scheduler(redis_from_url(urls.redis_url)).start()  # type: ignore[no-untyped-call]
