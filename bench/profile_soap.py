"""Where the CPU time of one signed SOAP request goes: the hub's whole handling (gate, parse, XSD, use case,
answer, signature) of pre-signed requests, in this process, against the register left by ``bench_seed.py``.
No HTTP and no gunicorn: what is left is ours.

    python bench/profile_soap.py [--var-dir /tmp/seedbench] [--requests 3000] [--operation getPersonData]
    python bench/profile_soap.py --source /tmp/base      # the same, with the code of another checkout

Prints µs of CPU (``time.process_time``: this process only — PostgreSQL's and Redis's own work is not in it,
and neither is the time spent waiting for them) and wall per request, best of ``--rounds`` rounds, then the
top entries of a cProfile pass that counts CPU time too (so waiting for the database is not a "hot spot").
``--source DIR`` imports ``rserz_soap`` from DIR (e.g. ``git worktree add /tmp/base <commit>``): before and
after a change measured back to back with the same script. ``--out`` keeps the pstats file.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--var-dir", default="/tmp/seedbench")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--operation", choices=["getPersonData", "identifyPerson"], default="getPersonData")
    ap.add_argument("--gost", action="store_true", help="requests signed with the МО's GOST key")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds over the requests (best one counts)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument(
        "--stages",
        action="store_true",
        help="also the CPU of each stage of a request (wrapped functions timed by thread CPU: no profiler's inflation)",
    )
    ap.add_argument("--source", type=Path, help="import rserz_soap from this checkout instead of this one")
    ap.add_argument("--out", type=Path)
    return ap.parse_args(argv)


#: (module, attribute) of the stages ``--stages`` times: "Class.method" or a function; nested stages
#: count inside their parents too
STAGES = (
    ("rserz_soap.soap.hardening", "read_body"),
    ("rserz_soap.soap.hardening", "parse_envelope"),
    ("rserz_soap.soap.security", "Gate.admit"),
    ("rserz_soap.xmlsig.wsse", "verify_envelope"),
    ("rserz_soap.soap.security", "ReplayCache.first_time"),
    ("rserz_soap.soap.server", "SoapApp._answer"),
    ("rserz_soap.usecases.identify", "person_data"),
    ("rserz_soap.usecases.identify", "identify"),
    ("rserz_soap.db.uow", "UnitOfWork.__enter__"),
    ("rserz_soap.db.uow", "UnitOfWork.__exit__"),
    ("rserz_soap.db.persons", "load_by_enp"),
    ("rserz_soap.soap.xml", "zl"),
    ("rserz_soap.soap.server", "SoapApp._signed"),
    ("rserz_soap.xmlsig.wsse", "sign_envelope"),
    ("rserz_soap.xmlsig.algorithms", "_RsaPkcs1.sign"),
    ("rserz_soap.soap.server", "SoapApp._journal"),
    ("rserz_soap.db.disclosures", "DisclosureWriter.submit"),
)


def _timed_stages() -> dict[str, list[float]]:
    """Wrap each stage (every module's binding of a function, the class's of a method) with a thread-CPU
    timer; returns the totals, name → [seconds, calls]."""
    import functools
    import importlib

    totals: dict[str, list[float]] = {}

    def wrap(name: str, fn: Any) -> Any:
        cell = totals.setdefault(name, [0.0, 0])

        @functools.wraps(fn)
        def timed(*a: Any, **kw: Any) -> Any:
            started = time.thread_time()
            try:
                return fn(*a, **kw)
            finally:
                cell[0] += time.thread_time() - started
                cell[1] += 1

        return timed

    for module_name, attribute in STAGES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        owner_name, _, method = attribute.rpartition(".")
        if owner_name:
            owner = getattr(module, owner_name, None)
            if owner is not None and method in vars(owner):
                setattr(owner, method, wrap(attribute, vars(owner)[method]))
            continue
        original = getattr(module, attribute, None)
        if original is None:
            continue
        timed = wrap(attribute, original)
        for mod in list(sys.modules.values()):  # `from x import f` bindings too
            if mod is not None and getattr(mod, attribute, None) is original:
                setattr(mod, attribute, timed)
    return totals


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    sys.path.insert(0, str(ROOT))
    if args.source is not None:
        sys.path.insert(0, str(args.source.resolve()))
    import redis
    from lxml import etree
    from sqlalchemy import text

    import rserz_soap
    from bench.bench_soap import ENV, _op
    from bench.report import postmaster, redis_server, tree_cpu
    from rserz_soap.config import load_settings
    from rserz_soap.db import migrate
    from rserz_soap.db.engine import make_engine
    from rserz_soap.db.participants import register_certificate, upsert_participant
    from rserz_soap.db.uow import Database
    from rserz_soap.files.nsi import bundled_files
    from rserz_soap.runtime import bootstrap
    from rserz_soap.runtime.services import running_services
    from rserz_soap.soap.assembly import build_soap_app
    from rserz_soap.xmlsig import devpki
    from rserz_soap.xmlsig.devpki_gost import load_gost_issued
    from rserz_soap.xmlsig.keys import load_keypair
    from rserz_soap.xmlsig.wsse import sign_envelope

    print(f"code: {Path(rserz_soap.__file__).parent}", flush=True)
    settings = dataclasses.replace(load_settings(), var_dir=args.var_dir, log_level="WARNING")
    with running_services(settings) as urls:
        settings = dataclasses.replace(settings, database_url=urls.database_url, redis_url=urls.redis_url)
        engine = make_engine(urls.database_url, pre_ping=False)  # as the web app
        migrate.upgrade(engine)
        bootstrap.import_nsi(engine, bundled_files(), say=lambda _m: None)
        bootstrap.load_flk_directory(engine, say=lambda _m: None)
        issued = devpki.init_pki(settings.pki_dir, [devpki.ParticipantSpec("mo", "450001", "Бенчмарк МО")])
        with engine.begin() as conn:
            for cert in issued:
                pid = upsert_participant(
                    conn, cert.spec.kind, cert.spec.code or cert.spec.kind, cert.spec.name
                )
                register_certificate(conn, pid, cert.cert_path.read_bytes())
            for g in load_gost_issued(settings.pki_dir):  # the same МО's GOST certificate
                if g.kind == "mo" and g.code == "450001":
                    pid = upsert_participant(conn, g.kind, g.code, g.name)
                    register_certificate(conn, pid, g.cert_path.read_bytes())
            rows = conn.execute(
                text(
                    "SELECT p.main_enp, d.fam, d.im, d.ot, d.dr FROM person p TABLESAMPLE SYSTEM (1)"
                    " JOIN person_data d ON d.person_id = p.id AND d.superseded_at IS NULL"
                    " AND d.valid_to IS NULL LIMIT :n"
                ),
                {"n": args.requests},
            ).all()
        folder = settings.pki_dir / "mo-450001" / ("gost" if args.gost else "")
        keypair = load_keypair(folder / "key.pem", folder / "cert.pem")
        bodies = []
        for i in range(args.requests):
            r = rows[i % len(rows)]
            op = (
                _op("getPersonData", ENP=r.main_enp)
                if args.operation == "getPersonData"
                else _op(
                    "identifyPerson",
                    FIO={"FAM": r.fam, "IM": r.im, **({"OT": r.ot} if r.ot else {}), "DR": r.dr},
                )
            )
            env = etree.Element(f"{{{ENV}}}Envelope", nsmap={"soap": ENV})
            etree.SubElement(env, f"{{{ENV}}}Body").append(op)
            sign_envelope(env, keypair, timestamp_ttl=1800)
            bodies.append(etree.tostring(env))
        rds = redis.Redis.from_url(urls.redis_url)
        # the web app's database: Database.connect's pools (work and autocommit reads), no pre-ping
        soap = build_soap_app(settings, Database.connect(urls.database_url, pre_ping=False), rds)
        services = [postmaster(engine), redis_server(urls.redis_url, args.var_dir)]

        def services_cpu() -> float:
            """CPU seconds used so far by PostgreSQL (postmaster and backends) and Redis, on this machine."""
            return sum(tree_cpu(p) for p in services)

        service = "identification"

        def handle(data: bytes) -> None:
            environ = {
                "REQUEST_METHOD": "POST",
                "CONTENT_TYPE": "text/xml; charset=utf-8",
                "CONTENT_LENGTH": str(len(data)),
                "wsgi.input": io.BytesIO(data),
                "REMOTE_ADDR": "127.0.0.1",
            }
            status, _body = soap.handle(service, environ)
            if not str(status).startswith("200"):
                raise RuntimeError(f"{status}: {_body[:300]!r}")

        warm = len(bodies) // 10
        for data in bodies[:warm]:
            handle(data)
        measured = bodies[warm:]
        best_cpu = best_wall = best_services = best_thread = float("inf")
        for _round in range(args.rounds):
            rds.flushdb()  # the replay keys of the previous round: the same signed requests again
            soap.journal.flush()
            soap.disclosures.flush()
            services_before = services_cpu()
            started_cpu, started = time.process_time(), time.perf_counter()
            started_thread = time.thread_time()
            for data in measured:
                handle(data)
            best_thread = min(best_thread, time.thread_time() - started_thread)
            soap.journal.flush()  # the journal's and disclosures' inserts belong to these requests
            soap.disclosures.flush()
            cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
            services_used = services_cpu() - services_before
            best_cpu, best_wall = min(best_cpu, cpu), min(best_wall, wall)
            best_services = min(best_services, services_used)
        n = len(measured)
        print(
            f"{args.operation}{' (GOST)' if args.gost else ''}: {n} requests, best of {args.rounds} rounds:"
            f" {best_cpu / n * 1e6:,.0f} µs CPU in this process (the hub's code; {best_thread / n * 1e6:,.0f} µs"
            " of it handling the request, the rest writing the journal and the disclosure log),"
            f" {best_services / n * 1e6:,.0f} µs CPU in PostgreSQL + Redis,"
            f" {best_wall / n * 1e6:,.0f} µs wall per request (no HTTP)",
            flush=True,
        )
        if args.stages:
            import gc

            gc_time = [0.0, 0.0, 0]

            def on_gc(phase: str, info: dict[str, Any]) -> None:
                if phase == "start":
                    gc_time[1] = time.thread_time()
                else:
                    gc_time[0] += time.thread_time() - gc_time[1]
                    gc_time[2] += 1

            gc.callbacks.append(on_gc)
            totals = _timed_stages()
            rds.flushdb()
            started_thread = time.thread_time()
            for data in measured:
                handle(data)
            whole = time.thread_time() - started_thread
            gc.callbacks.remove(on_gc)
            soap.journal.flush()
            soap.disclosures.flush()
            print(f"\n--- stages: µs of this thread's CPU per request (whole: {whole / n * 1e6:,.0f}) ---")
            for name, (seconds, calls) in totals.items():
                if calls:
                    print(f"{seconds / n * 1e6:8,.0f} µs  {calls / n:5.2f} calls  {name}")
            print(f"{gc_time[0] / n * 1e6:8,.0f} µs  {gc_time[2] / n:5.2f} calls  garbage collection")
        profiler: Any = None
        if not args.no_profile:
            rds.flushdb()
            profiler = cProfile.Profile(time.process_time)  # CPU: waiting for PostgreSQL/Redis is not ours
            profiler.enable()
            for data in measured:
                handle(data)
            profiler.disable()
        soap.journal.flush()
        soap.disclosures.flush()
        engine.dispose()
    if profiler is None:
        return 0
    stats = pstats.Stats(profiler)
    if args.out:
        stats.dump_stats(str(args.out))
    for key in ("tottime", "cumulative"):
        print(f"\n--- top {args.top} by {key} ---")
        stats.sort_stats(key).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
