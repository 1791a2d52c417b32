"""Benchmark: full reconciliation of the register with the ФЕРЗЛ emulator (issue 5: 1M persons ≤ 10 min).

    python bench/bench_reconcile.py --persons 1000000 [--var-dir /tmp/reconbench] [--share 0.01]

Uses ``RSERZ_DATABASE_URL`` / ``RSERZ_REDIS_URL`` when set, else embedded servers under ``--var-dir``. An
empty register is seeded with the synthetic region and the emulator's own database with the federal copy
of the same population (``--share`` of persons planted as divergences); both are kept for the next run.
The emulator runs as its own process (``rserz emulators``: gunicorn, signed SOAP) on a free port.

Two measurements in the same run:
1. **baseline** — the comparison floor: both sides read straight from their databases in ЕНП batches of
   10,000 and compared in process (the same compared fields); no SOAP, CSV, ZIP or staging;
2. **reconciliation** — the real run: ``Reconciler`` through the document's client (token, 24.2.6):
   ``getViewDataInsuranceStart``/``Poll`` builds the insurance витрина (CSV in a ZIP, an MTOM
   attachment), the hub stages it (COPY) and compares it batch by batch, report rows and cursor per
   transaction.
The run's report is compared with the emulator's planted list: it must be exact.
The figures go to the section "Reconciliation with ФЕРЗЛ" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

from sqlalchemy import Engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import machine, write_section  # noqa: E402
from rserz_soap.config import load_settings  # noqa: E402
from rserz_soap.db import migrate  # noqa: E402
from rserz_soap.db.engine import make_engine  # noqa: E402
from rserz_soap.db.tables import person  # noqa: E402
from rserz_soap.db.uow import Database, UnitOfWork  # noqa: E402
from rserz_soap.demo.load import region_reference_from_nsi, seed_region  # noqa: E402
from rserz_soap.domain.federal import FederalPerson, FederalPolicy  # noqa: E402
from rserz_soap.domain.person import Document  # noqa: E402
from rserz_soap.emulators.ferzl import store  # noqa: E402
from rserz_soap.emulators.ferzl.seed import seed_federal  # noqa: E402
from rserz_soap.emulators.store import ensure_database  # noqa: E402
from rserz_soap.federal.mpi_client import MpiClient  # noqa: E402
from rserz_soap.files.nsi import bundled_files  # noqa: E402
from rserz_soap.runtime import bootstrap  # noqa: E402
from rserz_soap.runtime.services import running_services  # noqa: E402
from rserz_soap.usecases import reconcile  # noqa: E402
from rserz_soap.usecases.federal_port import FederalUnavailable  # noqa: E402
from rserz_soap.xmlsig import devpki  # noqa: E402

SECTION = "Reconciliation with ФЕРЗЛ"
_FEDERAL_SQL = text(
    "SELECT enp, status, fam, im, ot, sex, birth_date, snils, death_date, doc_type, doc_ser, doc_num,"
    " smo, policy_begin FROM fed_person WHERE region = :region AND enp > :after ORDER BY enp LIMIT :limit"
)


def baseline(hub: Engine, ferzl: Engine, region: str) -> tuple[float, int]:
    """Both sides read from their databases and compared in process, batch by batch: the floor."""
    started = time.perf_counter()
    after, total, diffs = "", 0, 0
    while True:
        with ferzl.connect() as conn:
            rows = conn.execute(
                _FEDERAL_SQL, {"region": region, "after": after, "limit": reconcile.BATCH}
            ).all()
        federal = {
            r.enp: FederalPerson(
                r.enp,
                r.status,
                r.fam,
                r.im,
                r.ot,
                r.sex,
                r.birth_date,
                ss=r.snils,
                ddeath=r.death_date,
                documents=(Document(r.doc_type, r.doc_ser, r.doc_num),) if r.doc_num else (),
                policies=(FederalPolicy(r.smo, "", r.policy_begin),) if r.smo else (),
            )
            for r in rows
        }
        end = len(rows) < reconcile.BATCH
        upto = None if end else rows[-1].enp
        with hub.connect() as conn:
            regional = {
                r.enp: r
                for r in reconcile.regional_rows(
                    UnitOfWork.joining(conn), after=after, upto=upto, limit=10**7
                )
            }
        diffs += len(reconcile.compare(regional, federal, {}, federal_complete=True))
        total += len(set(regional) | set(federal))
        if end:
            break
        after = rows[-1].enp
    seconds = time.perf_counter() - started
    print(f"baseline: {total} persons, {diffs} differences in {seconds:.1f} s", flush=True)
    return seconds, total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the emulator exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the emulator did not answer at {url} within {timeout} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--share", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--var-dir", default="/tmp/reconbench")
    ap.add_argument("--policy", default="report", choices=reconcile.POLICIES)
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args(argv)
    var = Path(args.var_dir)
    var.mkdir(parents=True, exist_ok=True)
    settings = dataclasses.replace(load_settings(), var_dir=str(var))
    with running_services(settings) as urls:
        port = _free_port()
        settings = dataclasses.replace(
            settings,
            database_url=urls.database_url,
            redis_url=urls.redis_url,
            emulators_port=port,
            ferzl_url=f"http://127.0.0.1:{port}/ferzl",
            ferzl_timeout=120.0,
        )
        hub = make_engine(urls.database_url, pool_size=2)
        migrate.upgrade(hub)
        bootstrap.import_nsi(hub, bundled_files(), say=lambda _m: None)
        bootstrap.load_flk_directory(hub, say=lambda _m: None)
        devpki.init_pki(  # the emulators' process serves ФЕРЗЛ, СМЭВ and the ИСЗЛ: each signs with its key
            settings.pki_dir,
            [
                devpki.ParticipantSpec("ferzl", None, "ФЕРЗЛ (эмулятор)"),
                devpki.ParticipantSpec("smev", None, "СМЭВ 3 (эмулятор)"),
                devpki.ParticipantSpec("iszl", None, "ИСЗЛ (эмулятор)"),
            ],
        )
        with hub.connect() as conn:
            count = conn.execute(select(func.count()).select_from(person)).scalar_one()
            reference = region_reference_from_nsi(conn, dt.date.today(), settings)
        ferzl_url = store.ferzl_database_url(urls.database_url)
        ensure_database(ferzl_url)
        ferzl = make_engine(ferzl_url, pool_size=2)
        store.create_schema(ferzl)
        if count == 0:
            print(f"seeding the region: {args.persons} persons …", flush=True)
            with ferzl.begin() as conn:  # a new region needs a new federal copy
                conn.execute(text("TRUNCATE fed_person, fed_person_version, fed_planted, fed_oip, fed_event"))
            seed_region(hub, reference, args.persons, args.seed, progress=True)
        started = time.perf_counter()
        planted = seed_federal(ferzl, reference, args.persons, args.seed, share=args.share)
        print(
            f"ФЕРЗЛ copy ready in {time.perf_counter() - started:.1f} s, {len(planted)} planted", flush=True
        )

        base_s, base_n = baseline(hub, ferzl, settings.region_code)

        env = dict(
            os.environ,
            RSERZ_DATABASE_URL=urls.database_url,
            RSERZ_REDIS_URL=urls.redis_url,
            RSERZ_VAR_DIR=str(var),
            RSERZ_EMULATORS_PORT=str(port),
            RSERZ_DEMO_PERSONS=str(args.persons),
            RSERZ_DEMO_SEED=str(args.seed),
            RSERZ_FERZL_DEMO_DIVERGENCE=str(args.share),
        )
        emulator = subprocess.Popen([sys.executable, "-m", "rserz_soap", "emulators"], env=env)
        try:
            _wait_for(f"http://127.0.0.1:{port}/ferzl/_control/health", 600, emulator)
            import redis

            client = MpiClient.from_settings(settings, redis.Redis.from_url(urls.redis_url), Database(hub))
            reconciler = reconcile.Reconciler(Database(hub).unit_of_work(), client, settings.region_okato)
            run_id = reconciler.start(policy=args.policy, actor="bench")
            started = time.perf_counter()
            retries = 0
            while True:  # what the RQ job's retries do: the run resumes where it stopped
                try:
                    progress = reconciler.run(run_id)
                    break
                except FederalUnavailable as exc:
                    retries += 1
                    print(f"ФЕРЗЛ unavailable ({exc}); resuming, retry {retries}", flush=True)
                    if retries > 20:
                        raise
                    time.sleep(5)
            run_s = time.perf_counter() - started
        finally:
            emulator.terminate()
            emulator.wait(30)
        found = {(d.enp, d.category, d.field) for d in reconcile.report(Database(hub).unit_of_work(), run_id)}
        expected = {p.report_key for p in planted}
        exact = found == expected
        by_category = Counter(c for _e, c, _f in found)
        hub.dispose()
        ferzl.dispose()
    rate = progress.persons / run_s
    body = f"""
Measured {dt.date.today().isoformat()} on {machine()}, embedded PostgreSQL 18 unless RSERZ_DATABASE_URL is set;
the emulator in its own process (gunicorn, 1 worker × 8 threads), both databases on the same server.
Command: `python bench/bench_reconcile.py --persons {args.persons}` (policy `{args.policy}`, {args.share:.0%} planted).

| path | persons | seconds | persons/s |
|---|---:|---:|---:|
| baseline: both databases read in ЕНП batches of 10,000 and compared in process | {base_n:,} | {base_s:.1f} | {base_n / base_s:,.0f} |
| reconciliation: the insurance витрина (getViewDataInsurance Start/Poll, ZIP of CSV over MTOM), staged, compared per batch | {progress.persons:,} | {run_s:.1f} | **{rate:,.0f}** |

{progress.batches} batches (the витрина staged first); {retries} resumptions after an unavailable ФЕРЗЛ;
{progress.differences:,} differences ({dict(sorted(by_category.items()))});
the report {"equals" if exact else "DOES NOT equal"} the {len(planted):,} planted divergences.
Target (issue 5): 1,000,000 persons in ≤ 10 minutes (≥ 1,667 persons/s).
"""
    print(body)
    if not args.no_write:
        write_section(SECTION, body)
    return 0 if exact else 1


if __name__ == "__main__":
    raise SystemExit(main())
