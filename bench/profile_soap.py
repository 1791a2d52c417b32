"""Where the time of one signed SOAP request goes: the hub's whole handling (gate, parse, XSD, use case,
answer, signature) of pre-signed requests, in this process under cProfile, against the register left by
``bench_seed.py``. No HTTP and no gunicorn: what is left is ours.

    python bench/profile_soap.py [--var-dir /tmp/seedbench] [--requests 3000] [--operation getPersonData]

Prints µs of CPU per request and the top entries by own time and by cumulative time; ``--out`` keeps the
pstats file (``python -m pstats``, or snakeviz).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from lxml import etree  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.bench_soap import ENV, _op  # noqa: E402
from rserz_soap.config import load_settings  # noqa: E402
from rserz_soap.db import migrate  # noqa: E402
from rserz_soap.db.engine import make_engine  # noqa: E402
from rserz_soap.db.participants import register_certificate, upsert_participant  # noqa: E402
from rserz_soap.db.uow import Database  # noqa: E402
from rserz_soap.files.nsi import bundled_files  # noqa: E402
from rserz_soap.runtime import bootstrap  # noqa: E402
from rserz_soap.runtime.services import running_services  # noqa: E402
from rserz_soap.soap.assembly import build_soap_app  # noqa: E402
from rserz_soap.xmlsig import devpki  # noqa: E402
from rserz_soap.xmlsig.keys import load_keypair  # noqa: E402
from rserz_soap.xmlsig.wsse import sign_envelope  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--var-dir", default="/tmp/seedbench")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--operation", choices=["getPersonData", "identifyPerson"], default="getPersonData")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
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
            rows = conn.execute(
                text(
                    "SELECT p.main_enp, d.fam, d.im, d.ot, d.dr FROM person p TABLESAMPLE SYSTEM (1)"
                    " JOIN person_data d ON d.person_id = p.id AND d.superseded_at IS NULL"
                    " AND d.valid_to IS NULL LIMIT :n"
                ),
                {"n": args.requests},
            ).all()
        keypair = load_keypair(
            settings.pki_dir / "mo-450001" / "key.pem", settings.pki_dir / "mo-450001" / "cert.pem"
        )
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
        soap = build_soap_app(settings, Database(engine), rds)
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
        started_cpu, started = time.process_time(), time.perf_counter()
        for data in measured:
            handle(data)
        cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
        print(
            f"{args.operation}: {len(measured)} requests, {cpu / len(measured) * 1e6:,.0f} µs CPU and "
            f"{wall / len(measured) * 1e6:,.0f} µs wall per request (no HTTP)"
        )
        rds.flushdb()  # the replay keys of the unprofiled pass
        profiler = cProfile.Profile()
        profiler.enable()
        for data in measured:
            handle(data)
        profiler.disable()
        soap.journal.flush()
        engine.dispose()
    stats = pstats.Stats(profiler)
    if args.out:
        stats.dump_stats(str(args.out))
    for key in ("tottime", "cumulative"):
        print(f"\n--- top {args.top} by {key} ---")
        stats.sort_stats(key).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
