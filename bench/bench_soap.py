"""Benchmark: signed SOAP requests against a 1M-person register, beside an unsigned spyne echo.

    python bench/bench_soap.py [--var-dir /tmp/seedbench] [--duration 20] [--connections 8]

Runs on the register left by ``bench_seed.py`` (seeding one if it is empty), starts ``rserz serve`` with 2
gunicorn workers on loopback, registers a benchmark МО with a development certificate, pre-signs every
request (each carries its own WS-Security signature: the replay guard refuses a repeated one), and drives
the hub with ``wrk`` (Debian package ``wrk``) — the load generator signs nothing while it measures.
The baseline, measured in the same run under the same gunicorn settings: an unsigned spyne echo.
Figures go to the section "SOAP endpoint" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from bench.report import machine, write_section  # noqa: E402
from bench.spyne_echo import BODY as ECHO_BODY  # noqa: E402
from rserz_soap.config import load_settings  # noqa: E402
from rserz_soap.db import migrate  # noqa: E402
from rserz_soap.db.engine import make_engine  # noqa: E402
from rserz_soap.db.participants import register_certificate, upsert_participant  # noqa: E402
from rserz_soap.db.tables import person  # noqa: E402
from rserz_soap.demo.load import region_reference_from_nsi, seed_region  # noqa: E402
from rserz_soap.files.nsi import bundled_files  # noqa: E402
from rserz_soap.runtime import bootstrap  # noqa: E402
from rserz_soap.runtime.services import running_services  # noqa: E402
from rserz_soap.xmlsig import devpki  # noqa: E402
from rserz_soap.xmlsig.devpki_gost import load_gost_issued  # noqa: E402
from rserz_soap.xmlsig.keys import load_keypair  # noqa: E402
from rserz_soap.xmlsig.wsse import sign_envelope  # noqa: E402

SECTION = "SOAP endpoint"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
IDN = "urn:ru:rserz:soap:identification:v1"

WRK_SCRIPT = r"""
local bodies = {}
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  local n = tonumber(args[2])
  local tid = tonumber(wrk.thread:get("tid"))
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == tid then table.insert(bodies, line) end
    i = i + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
end
function request()
  counter = counter + 1
  if counter > #bodies then counter = 1 end
  return wrk.format(nil, nil, nil, bodies[counter])
end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d seconds=%.3f p50=%.3f p95=%.3f p99=%.3f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def wrk(url: str, bodies_file: Path, threads: int, connections: int, duration: int) -> dict[str, float]:
    script = bodies_file.with_suffix(".lua")
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "-s",
            str(script),
            url,
            "--",
            str(bodies_file),
            str(threads),
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    ).stdout
    m = re.search(r"RESULT (.*)", out)
    if not m:
        raise RuntimeError(out)
    values = {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    values["rps"] = values["requests"] / values["seconds"]
    return values


def signed_bodies(keypair: Any, bodies: list[Any], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for body in bodies:
            env = etree.Element(f"{{{ENV}}}Envelope", nsmap={"soap": ENV})
            etree.SubElement(env, f"{{{ENV}}}Body").append(body)
            sign_envelope(env, keypair, timestamp_ttl=1800)
            f.write(etree.tostring(env, encoding="unicode").replace("\n", "&#10;") + "\n")


def _op(name: str, **fields: Any) -> Any:
    el = etree.Element(f"{{{IDN}}}{name}", nsmap={"idn": IDN})
    for key, value in fields.items():
        if isinstance(value, dict):
            sub = etree.SubElement(el, f"{{{IDN}}}{key}")
            for k2, v2 in value.items():
                etree.SubElement(sub, f"{{{IDN}}}{k2}").text = str(v2)
        else:
            etree.SubElement(el, f"{{{IDN}}}{key}").text = str(value)
    return el


def gost_note() -> str:
    from rserz_soap.xmlsig.gost import streebog

    fast = streebog.streebog256 is not None and streebog._STREEBOG_256 is not streebog.pure_streebog256
    return (
        "; Streebog through OpenSSL's GOST engine in-process (`xmlsig/gost/fast.py`), the signature arithmetic ours"
        if fast
        else "; pure-Python Streebog and signature arithmetic"
    )


def typo(word: str, rnd: random.Random) -> str:
    """One vowel replaced inside the surname (short surnames are left as they are)."""
    if len(word) < 4:
        return word
    i = rnd.randrange(1, len(word) - 1)
    vowels = "аоеиуыяю"
    return word[:i] + rnd.choice([c for c in vowels if c != word[i]]) + word[i + 1 :]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--var-dir", default="/tmp/seedbench")
    ap.add_argument("--persons", type=int, default=1_000_000, help="seeded when the register is empty")
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--requests", type=int, default=24_000, help="pre-signed requests per scenario")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (Debian package wrk)")
    rnd = random.Random(7)
    work = Path(tempfile.mkdtemp(prefix="soapbench-"))
    settings = dataclasses.replace(load_settings(), var_dir=args.var_dir)
    Path(args.var_dir).mkdir(parents=True, exist_ok=True)
    with running_services(settings) as urls:
        settings = dataclasses.replace(settings, database_url=urls.database_url, redis_url=urls.redis_url)
        engine = make_engine(urls.database_url)
        migrate.upgrade(engine)
        bootstrap.import_nsi(engine, bundled_files(), say=lambda _m: None)
        bootstrap.load_flk_directory(engine, say=lambda _m: None)
        with engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(person)).scalar_one()
        if count == 0:
            with engine.connect() as conn:
                reference = region_reference_from_nsi(conn, dt.date.today(), settings)
            seed_region(engine, reference, args.persons, 1)
            count = args.persons
        spec = devpki.ParticipantSpec("mo", "450001", "Бенчмарк МО")
        issued = devpki.init_pki(settings.pki_dir, [spec])
        with engine.begin() as conn:
            for cert in issued:
                pid = upsert_participant(
                    conn, cert.spec.kind, cert.spec.code or cert.spec.kind, cert.spec.name
                )
                register_certificate(conn, pid, cert.cert_path.read_bytes())
            for g in load_gost_issued(settings.pki_dir):  # the same МО's GOST certificate: either key is it
                if g.kind == "mo" and g.code == "450001":
                    pid = upsert_participant(conn, g.kind, g.code, g.name)
                    register_certificate(conn, pid, g.cert_path.read_bytes())
            sample = conn.execute(
                text(
                    "SELECT p.main_enp, d.fam, d.im, d.ot, d.dr FROM person p TABLESAMPLE SYSTEM (1)"
                    " JOIN person_data d ON d.person_id = p.id AND d.superseded_at IS NULL AND d.valid_to IS NULL"
                    " LIMIT :n"
                ),
                {"n": args.requests},
            ).all()
        engine.dispose()
        rows = [sample[i % len(sample)] for i in range(args.requests)]
        warm = work / "warm.txt"
        keypair = load_keypair(
            settings.pki_dir / "mo-450001" / "key.pem", settings.pki_dir / "mo-450001" / "cert.pem"
        )
        gost_keypair = load_keypair(
            settings.pki_dir / "mo-450001" / "gost" / "key.pem",
            settings.pki_dir / "mo-450001" / "gost" / "cert.pem",
        )
        print(f"register: {count} persons; signing {3 * args.requests} requests …", flush=True)
        by_enp, by_typo, by_enp_gost = work / "by_enp.txt", work / "by_typo.txt", work / "by_enp_gost.txt"
        signed_bodies(keypair, [_op("getPersonData", ENP=r.main_enp) for r in rows], by_enp)
        signed_bodies(gost_keypair, [_op("getPersonData", ENP=r.main_enp) for r in rows], by_enp_gost)
        signed_bodies(
            keypair,
            [
                _op(
                    "identifyPerson",
                    FIO={"FAM": typo(r.fam, rnd), "IM": r.im, **({"OT": r.ot} if r.ot else {}), "DR": r.dr},
                )
                for r in rows
            ],
            by_typo,
        )
        signed_bodies(keypair, [_op("getPersonData", ENP=r.main_enp) for r in rows[:3000]], warm)
        (work / "echo.txt").write_text((ECHO_BODY + "\n") * 100, encoding="utf-8")

        port, echo_port = free_port(), free_port()
        env = dict(
            os.environ,
            RSERZ_VAR_DIR=args.var_dir,
            RSERZ_DATABASE_URL=urls.database_url,
            RSERZ_REDIS_URL=urls.redis_url,
            RSERZ_PORT=str(port),
            RSERZ_WEB_WORKERS="2",
            RSERZ_LOG_LEVEL="WARNING",
        )
        hub = subprocess.Popen([sys.executable, "-m", "rserz_soap", "serve"], env=env, cwd=ROOT)
        echo = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{echo_port}",
                "--log-level",
                "warning",
                "bench.spyne_echo:application",
            ],
            cwd=ROOT,
        )
        try:
            wait_up(f"http://127.0.0.1:{port}/healthz")
            wait_up(f"http://127.0.0.1:{echo_port}/?wsdl")
            hub_url = f"http://127.0.0.1:{port}/soap/identification"
            wrk(
                hub_url, warm, 2, args.connections, 3
            )  # warm-up (its own signatures): caches, prepared statements
            baseline = wrk(
                f"http://127.0.0.1:{echo_port}/", work / "echo.txt", 2, args.connections, args.duration
            )
            enp = wrk(hub_url, by_enp, 2, args.connections, args.duration)
            fuzzy = wrk(hub_url, by_typo, 2, args.connections, args.duration)
            gost = wrk(hub_url, by_enp_gost, 2, args.connections, args.duration)
        finally:
            for proc in (hub, echo):
                proc.terminate()
                proc.wait(20)
    shutil.rmtree(work, ignore_errors=True)

    def row(name: str, v: dict[str, float]) -> str:
        return (
            f"| {name} | {v['rps']:,.0f} | {v['p50']:.1f} | {v['p95']:.1f} | {v['p99']:.1f} | "
            f"{int(v['errors'] + v['non2xx'])} |"
        )

    body = f"""
Measured {dt.date.today().isoformat()} on {machine()}; register of {count:,} persons, embedded PostgreSQL 18.
Command: `python bench/bench_soap.py --duration {args.duration} --connections {args.connections}`.
Hub: `rserz serve` (gunicorn, 2 sync workers) on loopback; load: `wrk -t2 -c{args.connections}` replaying
requests pre-signed with the МО's RSA-2048 key (WS-Security over Body and Timestamp; each request unique, so
the replay guard passes them), the hub verifying, checking the chain and CRL, validating against the XSD,
journaling and signing every answer. Baseline in the same run: an unsigned 5-field spyne echo under the
same gunicorn settings (`bench/spyne_echo.py`). The GOST row: the same МО registered with its GOST
certificate (2012-256, CryptoPro-A), Streebog digests, the hub answering with its own GOST key{gost_note()}.

| scenario | req/s | p50 ms | p95 ms | p99 ms | errors |
|---|---:|---:|---:|---:|---:|
{row("baseline: unsigned spyne echo", baseline)}
{row("getPersonData by ЕНП, signed", enp)}
{row("identifyPerson by name + birth date with a typo, signed", fuzzy)}
{row("getPersonData by ЕНП, signed with GOST R 34.10-2012 (answered with the hub's GOST key)", gost)}

Targets (issue 4): getPersonData ≥ 600 req/s with p99 ≤ 30 ms; identifyPerson with a typo p95 ≤ 50 ms.
"""
    print(body)
    if not args.no_write:
        write_section(SECTION, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
