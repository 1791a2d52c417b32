"""Benchmark: a batch of mixed СМО operations checked and applied against a large register.

    python bench/bench_registry.py --persons 1000000 --ops 10000 [--var-dir /tmp/seedbench]

Uses ``RSERZ_DATABASE_URL`` when set, else an embedded PostgreSQL under ``--var-dir`` (the seeding
benchmark's folder by default, so a register seeded there is reused). An empty register is seeded first.

Measurements in the same run, on different persons of the same register:
1. **baseline** — the operations' transitions stored directly (``apply_operation`` + ``persons.save``,
   one commit per chunk): the floor of writing versions, without ФЛК, the buffer or conflict checks;
2. **registry, federal first** (the default since issue 5, and the production mode) — the whole path a
   participant's batch takes: receive (commit), ФЛК, conflicts, buffer states and trail, then the
   application to ФЕРЗЛ (the emulator, a separate process on this machine, over signed-free SOAP with a
   token as ФОМС's document describes), ФЕРЗЛ's answer, and the apply with the ЕНП and policy ФЕРЗЛ formed.
   Timed until every entry is final (applied or refused) — none left awaiting ФЕРЗЛ;
3. **registry, federal first off** (an isolated stand) — the same without ФЕРЗЛ: apply at once.
The figures go to the section "Register throughput" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import math
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import Engine, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.report import machine, postmaster, tree_cpu, write_section  # noqa: E402
from rserz_soap.config import load_settings  # noqa: E402
from rserz_soap.db import migrate, persons  # noqa: E402
from rserz_soap.db.engine import make_engine  # noqa: E402
from rserz_soap.db.participants import upsert_participant  # noqa: E402
from rserz_soap.db.tables import person  # noqa: E402
from rserz_soap.db.uow import Database  # noqa: E402
from rserz_soap.demo import operations, region  # noqa: E402
from rserz_soap.demo.load import region_reference_from_nsi, seed_region  # noqa: E402
from rserz_soap.domain.buffer import Submitter  # noqa: E402
from rserz_soap.domain.operations import OperationContext, apply_operation  # noqa: E402
from rserz_soap.domain.person import PersonCard  # noqa: E402
from rserz_soap.federal.mpi_client import MpiClient  # noqa: E402
from rserz_soap.files.nsi import bundled_files  # noqa: E402
from rserz_soap.runtime import bootstrap  # noqa: E402
from rserz_soap.runtime.services import running_services  # noqa: E402
from rserz_soap.usecases import intake, outbox  # noqa: E402
from rserz_soap.usecases.wiring import build_intake  # noqa: E402

SECTION = "Registry throughput"


def sample_cards(engine: Engine, n: int, rnd: random.Random) -> list[PersonCard]:
    with engine.connect() as conn:
        lo, hi = conn.execute(select(func.min(person.c.id), func.max(person.c.id))).one()
        ids = {rnd.randint(lo, hi) for _ in range(n * 2)}
        out: list[PersonCard] = []
        chunk = sorted(ids)
        for i in range(0, len(chunk), 2000):
            out += [
                c
                for c in persons.load_many(conn, chunk[i : i + 2000]).values()
                if c.status.value == "insured"
            ]
    rnd.shuffle(out)
    return out


def baseline(engine: Engine, plan: list[operations.PlannedOperation], region_code: str) -> float:
    """The write floor: the same chunked transactions and bulk writes, without ФЛК, buffer or conflicts."""
    today = dt.date.today()
    started = time.perf_counter()
    for i in range(0, len(plan), 200):
        with engine.begin() as conn:
            part = plan[i : i + 200]
            owners = {
                p.record.insurance.enp: persons.find_by_enp(conn, p.record.insurance.enp)
                for p in part
                if p.record.insurance.enp
            }
            stored = persons.load_many_for_update(conn, [pid for pid in owners.values() if pid])
            plans = []
            for p in part:
                rec = p.record
                pid = owners.get(rec.insurance.enp) if rec.insurance.enp else None
                before = stored.get(pid) if pid else None
                ctx = OperationContext(
                    p.smo_code, today, lambda dr, w: persons.allocate_enp(conn, region_code, dr, w)
                )
                try:
                    t = apply_operation(before.card if before else None, rec, ctx)
                except Exception:  # noqa: BLE001 - a refused operation costs what it costs
                    continue
                plans.append(
                    persons.SavePlan(
                        before,
                        t.after,
                        persons.VersionMeta(rec.op, "smo", p.smo_code, t.valid_from),
                        t.stop_notices,
                    )
                )
            persons.save_many(conn, plans)
    return time.perf_counter() - started


def _drain(args: tuple[str, int, bool, str | None, str, int]) -> int:
    """One worker process: process the buffer and, federal first, push what waits for ФЕРЗЛ and apply its
    answers, until nothing is left to do (what the hub's RQ jobs do, without the queue in between)."""
    url, _index, federal_first, ferzl_url, var_dir, lanes = args
    settings = dataclasses.replace(
        load_settings(), database_url=url, federal_first=federal_first, ferzl_url=ferzl_url, var_dir=var_dir
    )
    db = Database.connect(url, pool_size=1)
    configured = build_intake(db.unit_of_work(), settings)
    client = MpiClient.from_settings(settings, None, None) if federal_first else None
    done = idle = 0
    while True:
        n = intake.process_pending(db.unit_of_work(), configured, limit=2_000)
        sent = 0
        if client is not None:
            sent = outbox.push_pending(
                db.unit_of_work(),
                configured,
                client,
                limit=500,
                lanes=lanes,
                parallel=settings.ferzl_push_parallel,
            ).sent
            waiting = len(outbox.pending_pushes(db.unit_of_work(), 1))
        else:
            waiting = 0
        done += n
        if n == 0 and sent == 0:
            if waiting == 0:
                return done
            idle += 1  # another worker holds the sender: wait for it
            time.sleep(0.05)


def run_registry(
    engine: Engine,
    url: str,
    plan: list[operations.PlannedOperation],
    submitters: dict[str, Submitter],
    workers: int,
    *,
    federal_first: bool,
    ferzl_url: str | None,
    var_dir: str,
) -> tuple[float, Counter[str]]:
    """Receive every СМО's batches, then process them with ``workers`` processes (RQ workers in the hub)."""
    db = Database(engine)
    batches: dict[str, list[operations.PlannedOperation]] = {}
    for p in plan:
        batches.setdefault(p.smo_code, []).append(p)
    started = time.perf_counter()
    ids: list[int] = []
    for code, items in batches.items():
        for i in range(0, len(items), 1000):
            part = items[i : i + 1000]
            recs = [dataclasses.replace(p.record, n_rec=j + 1) for j, p in enumerate(part)]
            ids += intake.receive(
                db.unit_of_work(), submitters[code], recs, batch_ref=f"bench-{code}-{i}"
            ).entry_ids
    jobs = [(url, i, federal_first, ferzl_url, var_dir, workers) for i in range(workers)]
    if workers == 1:
        _drain(jobs[0])
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            pool.map(_drain, jobs)
    seconds = time.perf_counter() - started
    with db.unit_of_work() as uow:
        results = uow.buffer.results(ids)
    outcomes: Counter[str] = Counter(r.code_erp or r.state.value for r in results)
    # refusals by their first error code and text (what a reader checks: only the planted bad records?)
    outcomes.update(f"refused: {r.comment[:70]}" for r in results if r.code_erp == "AE")
    return seconds, outcomes


def cpu_now(emulator: psutil.Process | None, server: psutil.Process | None) -> dict[str, float]:
    """CPU seconds so far: this bench and its reaped workers (the hub's side), the ФЕРЗЛ emulator, PostgreSQL."""
    t = os.times()
    return {
        "hub": t.user + t.system + t.children_user + t.children_system,
        "ferzl": tree_cpu(emulator),
        "pg": tree_cpu(server),
    }


@contextlib.contextmanager
def ferzl_emulator(
    urls: Any, var_dir: str, persons_count: int, seed: int
) -> Iterator[tuple[str, psutil.Process]]:
    """The ФЕРЗЛ emulator of `rserz emulators` on a free port, seeded (once per register) with the federal
    copy of this register's population; yields its endpoint."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(
        os.environ,
        RSERZ_DATABASE_URL=urls.database_url,
        RSERZ_REDIS_URL=urls.redis_url,
        RSERZ_VAR_DIR=var_dir,
        RSERZ_EMULATORS_PORT=str(port),
        RSERZ_DEMO_PERSONS=str(persons_count),
        RSERZ_DEMO_SEED=str(seed),
        RSERZ_LOG_LEVEL="WARNING",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "rserz_soap", "emulators"], env=env, start_new_session=True
    )
    endpoint = f"http://127.0.0.1:{port}/ferzl"
    try:
        deadline = time.monotonic() + 3600  # the first start seeds the federal copy of the whole register
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the emulators exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"{endpoint}/_control/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        yield endpoint, psutil.Process(proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--ops", type=int, default=10_000)
    ap.add_argument("--baseline-ops", type=int, default=3_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--var-dir", default="/tmp/seedbench")
    ap.add_argument("--workers", type=int, default=2, help="worker processes of the parallel run")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args(argv)
    settings = dataclasses.replace(load_settings(), var_dir=args.var_dir)
    Path(args.var_dir).mkdir(parents=True, exist_ok=True)
    rnd = random.Random(args.seed)
    with running_services(settings) as urls:
        settings = dataclasses.replace(settings, database_url=urls.database_url, redis_url=urls.redis_url)
        engine = make_engine(urls.database_url, pool_size=2)
        migrate.upgrade(engine)
        bootstrap.import_nsi(engine, bundled_files(), say=lambda _m: None)
        bootstrap.load_flk_directory(engine, say=lambda _m: None)
        bootstrap.init_certificates(settings, engine, say=lambda _m: None)  # the emulators sign with them
        with engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(person)).scalar_one()
            reference = region_reference_from_nsi(conn, dt.date.today(), settings)
        if count == 0:
            print(f"seeding {args.persons} persons …", flush=True)
            seed_region(engine, reference, args.persons, args.seed, progress=True)
            with engine.connect() as conn:
                count = conn.execute(select(func.count()).select_from(person)).scalar_one()
        smo_codes = [s.code for s in reference.smo if s.date_end is None or s.date_end >= dt.date.today()]
        with engine.begin() as conn:
            submitters = {c: Submitter(upsert_participant(conn, "smo", c, c), "smo", c) for c in smo_codes}
        existing = sample_cards(engine, args.ops + args.baseline_ops, rnd)
        # new persons: the same population continued past the persons already loaded (unique identifiers
        # by construction), registered without their ЕНП as a first registration would be
        extra = args.ops + args.baseline_ops
        with engine.connect() as conn:
            max_id = conn.execute(select(func.max(person.c.id))).scalar_one()
        # a random slice past the loaded persons, so that repeated runs on one register do not register
        # the same new persons again (identifiers depend only on the index in the population)
        first = math.ceil(max_id / region.ENP_GROUP)
        last = (region.MAX_PERSONS - extra) // region.ENP_GROUP
        start = random.Random().randrange(first, last) * region.ENP_GROUP
        fresh = [
            p.to_card().replace(enp=None)
            for p in region.generate(reference, start + extra, args.seed, start=start, duplicate_share=0.0)
        ]
        today = dt.date.today()
        base_plan = operations.plan(
            existing[: args.baseline_ops],
            fresh[: args.baseline_ops],
            smo_codes,
            args.baseline_ops,
            today=today,
            seed=args.seed,
        )
        plan = operations.plan(
            existing[args.baseline_ops :],
            fresh[args.baseline_ops :],
            smo_codes,
            args.ops,
            today=today,
            seed=args.seed + 1,
        )
        print(
            f"register: {count} persons; baseline {len(base_plan)} ops, registry {len(plan)} ops", flush=True
        )

        load = {"base": os.getloadavg()[0]}  # the 1-minute load average before each run
        base_s = baseline(engine, [p for p in base_plan if not p.expect_refusal], settings.region_code)
        base_n = sum(1 for p in base_plan if not p.expect_refusal)

        third = len(plan) // 3
        parts = [plan[:third], plan[third : 2 * third], plan[2 * third :]]
        with ferzl_emulator(urls, args.var_dir, count, args.seed) as (ferzl_url, emulator):
            load["one"] = os.getloadavg()[0]
            server = postmaster(engine)
            cpu_before = cpu_now(emulator, server)
            one_s, one_out = run_registry(
                engine,
                urls.database_url,
                parts[0],
                submitters,
                1,
                federal_first=True,
                ferzl_url=ferzl_url,
                var_dir=args.var_dir,
            )
            load["two"] = os.getloadavg()[0]
            two_s, two_out = run_registry(
                engine,
                urls.database_url,
                parts[1],
                submitters,
                args.workers,
                federal_first=True,
                ferzl_url=ferzl_url,
                var_dir=args.var_dir,
            )
            cpu_after = cpu_now(emulator, server)
        load["off"] = os.getloadavg()[0]
        off_before = cpu_now(None, server)
        off_s, off_out = run_registry(
            engine,
            urls.database_url,
            parts[2],
            submitters,
            args.workers,
            federal_first=False,
            ferzl_url=None,
            var_dir=args.var_dir,
        )
        off_after = cpu_now(None, server)
        outcomes = one_out + two_out + off_out
        engine.dispose()
    top = sorted(
        ((k.removeprefix("refused: "), n) for k, n in outcomes.items() if k.startswith("refused: ")),
        key=lambda kn: -kn[1],
    )[:5]
    codes = {k: n for k, n in outcomes.items() if not k.startswith("refused: ")}

    base_rate = base_n / base_s
    n1, n2, n3 = (len(p) for p in parts)
    one_rate, two_rate, off_rate = n1 / one_s, n2 / two_s, n3 / off_s
    mix = ", ".join(f"{k} {w:.0%}" for k, w in operations.MIX)
    # where the CPU of the two federal-first runs went, per operation
    per_op = {k: (cpu_after[k] - cpu_before[k]) / (n1 + n2) * 1000 for k in cpu_before}
    off_per_op = {k: (off_after[k] - off_before[k]) / n3 * 1000 for k in ("hub", "pg")}
    hub_only = per_op["hub"] + per_op["pg"]  # all of PostgreSQL counted as the hub's: an upper bound
    cores = os.cpu_count() or 1
    body = f"""
Measured {dt.date.today().isoformat()} on {machine()}, embedded PostgreSQL 18 unless RSERZ_DATABASE_URL is set.
Command: `python bench/bench_registry.py --persons {args.persons} --ops {args.ops}` (register of {count:,} persons).

| path | load average before | operations | seconds | operations/s | ratio to baseline |
|---|---:|---:|---:|---:|---:|
| baseline: transitions + versioned bulk save, no ФЛК/buffer, 1 process | {load["base"]:.1f} | {base_n:,} | {base_s:.1f} | {base_rate:,.0f} | 1 |
| registry, federal first: receive → ФЛК → conflicts → buffer → ФЕРЗЛ application → answer → apply, 1 worker | {load["one"]:.1f} | {n1:,} | {one_s:.1f} | {one_rate:,.0f} | {one_rate / base_rate:.2f} |
| registry, federal first: the same, {args.workers} workers | {load["two"]:.1f} | {n2:,} | {two_s:.1f} | **{two_rate:,.0f}** | {two_rate / base_rate:.2f} |
| registry, federal first off (isolated stand): receive → ФЛК → conflicts → buffer → apply, {args.workers} workers | {load["off"]:.1f} | {n3:,} | {off_s:.1f} | {off_rate:,.0f} | {off_rate / base_rate:.2f} |

Ratio of the whole path ({args.workers} workers) to the baseline: {two_rate / base_rate:.2f}. The ФЕРЗЛ emulator runs on
the same machine (one gunicorn worker with threads), so it takes CPU from the hub's workers; every outcome
above is final (applied or refused), none awaiting ФЕРЗЛ.

CPU per operation in the two federal-first runs: the hub's side (receive, ФЛК, buffer, sender, apply)
{per_op["hub"]:.1f} ms, the ФЕРЗЛ emulator (checking, storing and answering each application, as ФЕРЗЛ does
on its own servers) {per_op["ferzl"]:.1f} ms, PostgreSQL (both databases) {per_op["pg"]:.1f} ms. With ФЕРЗЛ
elsewhere, as in production, the hub's side and all of PostgreSQL come to {hub_only:.1f} ms per operation:
at most {cores * 1000 / hub_only:,.0f} operations/s on these {cores} cores if the calls' latency is overlapped (an
estimate from CPU, not a measured rate). Federal first off: the hub's side {off_per_op["hub"]:.1f} ms,
PostgreSQL {off_per_op["pg"]:.1f} ms per operation.

Operation mix: {mix}. Outcomes: {codes}.
Most frequent refusals: {"; ".join(f"{c} ×{n}" for c, n in top) or "none"}.
Target (issue 17): the whole path ≥ 1,000 operations/s with {args.workers} workers, or ≥ 0.75 of the baseline:
{"met" if two_rate >= 1000 or two_rate >= 0.75 * base_rate else "not met"} in this run.
"""
    print(body)
    if not args.no_write:
        write_section(SECTION, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
