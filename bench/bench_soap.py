"""Benchmark: signed SOAP requests against a 1M-person register, beside an unsigned spyne echo.

    python bench/bench_soap.py [--var-dir /tmp/seedbench] [--persons 1000000] [--duration 20] [--connections 8]

Runs on the register left by ``bench_seed.py`` (seeding one of ``--persons`` if it is empty), starts
``rserz serve`` with 2 gunicorn workers on loopback, registers a benchmark МО (its RSA and its GOST
certificate) and an ИСЗЛ, pre-signs every request (each carries its own WS-Security signature: the replay
guard refuses a repeated one), and drives the hub with ``wrk`` (Debian package ``wrk``) — the load
generator signs nothing while it measures. Scenarios: getPersonData and identifyPerson signed with RSA
and with GOST, searchPersons, and the getChanges read rate (an ИСЗЛ paging through the whole feed, 1,000
changes a page, signing each request as a client does). Baselines, measured in the same run: an unsigned
spyne echo under the same gunicorn settings for the request scenarios, the same feed pages read straight
from PostgreSQL (``db.feed.read``) for getChanges. The load average is taken before each run.
Figures go to the section "SOAP endpoint" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import http.client
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

import psutil  # noqa: E402
from lxml import etree  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from bench.report import machine, postmaster, redis_server, tree_cpu, write_section  # noqa: E402
from rserz_soap.config import load_settings  # noqa: E402
from rserz_soap.db import feed as feed_db  # noqa: E402
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
CHG = "urn:ru:rserz:soap:changes:v1"

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
    before = os.times()
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
    after = os.times()  # wrk is the only child reaped in between: its CPU
    values["wrk_cpu"] = (
        after.children_user + after.children_system - before.children_user - before.children_system
    )
    return values


def measured(run: Any, server: psutil.Process, others: dict[str, psutil.Process | None]) -> dict[str, float]:
    """``run()`` (a wrk run), with the CPU seconds per request of the server's processes, of each of
    ``others`` (PostgreSQL, Redis) and of wrk itself."""
    before = {"server": tree_cpu(server), **{k: tree_cpu(p) for k, p in others.items()}}
    values: dict[str, float] = run()
    n = max(values["requests"], 1)
    values["cpu_server"] = (tree_cpu(server) - before["server"]) / n
    for k, p in others.items():
        values[f"cpu_{k}"] = (tree_cpu(p) - before[k]) / n
    values["cpu_wrk"] = values["wrk_cpu"] / n
    return values


def signed_bodies(keypair: Any, bodies: list[Any], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for body in bodies:
            env = etree.Element(f"{{{ENV}}}Envelope", nsmap={"soap": ENV})
            etree.SubElement(env, f"{{{ENV}}}Body").append(body)
            sign_envelope(env, keypair, timestamp_ttl=1800)
            f.write(etree.tostring(env, encoding="unicode").replace("\n", "&#10;") + "\n")


def _op(name: str, ns: str = IDN, **fields: Any) -> Any:
    el = etree.Element(f"{{{ns}}}{name}", nsmap={"op": ns})
    for key, value in fields.items():
        if isinstance(value, dict):
            sub = etree.SubElement(el, f"{{{ns}}}{key}")
            for k2, v2 in value.items():
                etree.SubElement(sub, f"{{{ns}}}{k2}").text = str(v2)
        else:
            etree.SubElement(el, f"{{{ns}}}{key}").text = str(value)
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


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def fio(r: Any, rnd: random.Random) -> dict[str, Any]:
    return {"FAM": typo(r.fam, rnd), "IM": r.im, **({"OT": r.ot} if r.ot else {}), "DR": r.dr}


def search(r: Any, rnd: random.Random) -> Any:
    """A remote search as a registry clerk types it: a misspelt surname, the name, a birth-date window."""
    return _op(
        "searchPersons",
        FAM=typo(r.fam, rnd),
        IM=r.im,
        DR_FROM=(r.dr - dt.timedelta(days=90)).isoformat(),
        DR_TO=(r.dr + dt.timedelta(days=90)).isoformat(),
        PAGE_SIZE=20,
    )


def publish_feed(engine: Any) -> int:
    """Publish the whole change journal before measuring: the read rate is of reading, not publishing."""
    total = 0
    while True:
        with engine.begin() as conn:
            done = feed_db.publish(conn)
        total += done
        if done == 0:
            return total


def feed_direct(engine: Any, page: int, duration: float) -> dict[str, float]:
    """The baseline of getChanges: the same pages read straight from PostgreSQL, in this process."""
    rows = pages = 0
    after = 0
    started = time.perf_counter()
    while time.perf_counter() - started < duration:
        with engine.connect() as conn:
            entries, more = feed_db.read(conn, after, page, kind="iszl", code="iszl")
        rows += len(entries)
        pages += 1
        if not entries or not more:
            break
        after = entries[-1].feed_seq
    seconds = time.perf_counter() - started
    return {"rows": rows, "pages": pages, "seconds": seconds, "rows_per_s": rows / seconds}


def feed_soap(port: int, keypair: Any, page: int, duration: float) -> dict[str, float]:
    """An ИСЗЛ paging through the feed over SOAP as a client does: sign, send, read NEXT_SEQ and MORE."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    rows = pages = 0
    after = 0
    started = time.perf_counter()
    while time.perf_counter() - started < duration:
        env = etree.Element(f"{{{ENV}}}Envelope", nsmap={"soap": ENV})
        etree.SubElement(env, f"{{{ENV}}}Body").append(_op("getChanges", CHG, AFTER_SEQ=after, LIMIT=page))
        sign_envelope(env, keypair)
        conn.request(
            "POST", "/soap/changes", etree.tostring(env), {"Content-Type": "text/xml; charset=utf-8"}
        )
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"getChanges: {response.status} {body[:300]!r}")
        answer = etree.fromstring(body)
        found = len(answer.findall(f".//{{{CHG}}}CHANGE"))
        rows += found
        pages += 1
        after = int(answer.findtext(f".//{{{CHG}}}NEXT_SEQ"))
        if not found or answer.findtext(f".//{{{CHG}}}MORE") != "true":
            break
    conn.close()
    seconds = time.perf_counter() - started
    return {"rows": rows, "pages": pages, "seconds": seconds, "rows_per_s": rows / seconds}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--var-dir", default="/tmp/seedbench")
    ap.add_argument("--persons", type=int, default=1_000_000, help="seeded when the register is empty")
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--requests", type=int, default=24_000, help="pre-signed requests per scenario")
    ap.add_argument("--feed-page", type=int, default=1000, help="LIMIT of each getChanges page")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument(
        "--web-workers",
        type=int,
        default=2,
        help="gunicorn worker processes of the hub; the echo runs with as many",
    )
    ap.add_argument(
        "--web-threads",
        type=int,
        default=1,
        help="RSERZ_WEB_THREADS of the hub; the echo runs under the same worker class and threads",
    )
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
        specs = [
            devpki.ParticipantSpec("mo", "450001", "Бенчмарк МО"),
            devpki.ParticipantSpec("iszl", None, "ИСЗЛ"),
        ]
        issued = devpki.init_pki(settings.pki_dir, specs)
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
        published = publish_feed(engine)
        with engine.connect() as conn:
            feed_rows = feed_db.last_published(conn)
        rows = [sample[i % len(sample)] for i in range(args.requests)]
        warm = work / "warm.txt"
        mo = settings.pki_dir / "mo-450001"
        keypair = load_keypair(mo / "key.pem", mo / "cert.pem")
        gost_keypair = load_keypair(mo / "gost" / "key.pem", mo / "gost" / "cert.pem")
        iszl_keypair = load_keypair(
            settings.pki_dir / "iszl" / "key.pem", settings.pki_dir / "iszl" / "cert.pem"
        )
        scenarios = [  # name, file, signing key, requests
            (
                "getPersonData by ЕНП, RSA",
                "by_enp",
                keypair,
                [_op("getPersonData", ENP=r.main_enp) for r in rows],
            ),
            (
                "identifyPerson by name + birth date with a typo, RSA",
                "by_typo",
                keypair,
                [_op("identifyPerson", FIO=fio(r, rnd)) for r in rows],
            ),
            (
                "getPersonData by ЕНП, GOST",
                "by_enp_gost",
                gost_keypair,
                [_op("getPersonData", ENP=r.main_enp) for r in rows],
            ),
            (
                "identifyPerson by name + birth date with a typo, GOST",
                "by_typo_gost",
                gost_keypair,
                [_op("identifyPerson", FIO=fio(r, rnd)) for r in rows],
            ),
            (
                "searchPersons: misspelt surname, name, 180-day birth window, RSA",
                "search",
                keypair,
                [search(r, rnd) for r in rows],
            ),
        ]
        print(
            f"register: {count} persons, feed of {feed_rows} ({published} published now); signing …",
            flush=True,
        )
        for _name, file, key, bodies in scenarios:
            signed_bodies(key, bodies, work / f"{file}.txt")
        signed_bodies(keypair, [_op("getPersonData", ENP=r.main_enp) for r in rows[:3000]], warm)
        from bench.spyne_echo import BODY as ECHO_BODY  # spyne (the `bench` extra) only where it is used

        (work / "echo.txt").write_text((ECHO_BODY + "\n") * 100, encoding="utf-8")

        port, echo_port = free_port(), free_port()
        env = dict(
            os.environ,
            RSERZ_VAR_DIR=args.var_dir,
            RSERZ_DATABASE_URL=urls.database_url,
            RSERZ_REDIS_URL=urls.redis_url,
            RSERZ_PORT=str(port),
            RSERZ_WEB_WORKERS=str(args.web_workers),
            RSERZ_WEB_THREADS=str(args.web_threads),
            RSERZ_LOG_LEVEL="WARNING",
        )
        hub = subprocess.Popen([sys.executable, "-m", "rserz_soap", "serve"], env=env, cwd=ROOT)
        echo = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(args.web_workers),
                *(["-k", "gthread", "--threads", str(args.web_threads)] if args.web_threads > 1 else []),
                "--keep-alive",
                "5",
                "-b",
                f"127.0.0.1:{echo_port}",
                "--log-level",
                "warning",
                "bench.spyne_echo:application",
            ],
            cwd=ROOT,
        )
        results: list[tuple[str, dict[str, float], str]] = []
        try:
            wait_up(f"http://127.0.0.1:{port}/healthz")
            wait_up(f"http://127.0.0.1:{echo_port}/?wsdl")
            hub_url = f"http://127.0.0.1:{port}/soap/identification"
            wrk(
                hub_url, warm, 2, args.connections, 3
            )  # warm-up (its own signatures): caches, prepared statements
            services = {"pg": postmaster(engine), "redis": redis_server(urls.redis_url, args.var_dir)}
            load = load_average()
            baseline = measured(
                lambda: wrk(
                    f"http://127.0.0.1:{echo_port}/", work / "echo.txt", 2, args.connections, args.duration
                ),
                psutil.Process(echo.pid),
                services,
            )
            results.append(("baseline: unsigned spyne echo", baseline, load))
            for name, file, _key, _bodies in scenarios:
                load = load_average()
                run = measured(
                    lambda file=file: wrk(hub_url, work / f"{file}.txt", 2, args.connections, args.duration),
                    psutil.Process(hub.pid),
                    services,
                )
                results.append((name, run, load))
            feed_load_direct = load_average()
            direct = feed_direct(engine, args.feed_page, args.duration)
            feed_load_soap = load_average()
            over_soap = feed_soap(port, iszl_keypair, args.feed_page, args.duration)
        finally:
            for proc in (hub, echo):
                proc.terminate()
                proc.wait(20)
            engine.dispose()
    shutil.rmtree(work, ignore_errors=True)

    def row(name: str, v: dict[str, float], load: str) -> str:
        ratio = v["rps"] / baseline["rps"] if baseline["rps"] else 0.0
        cpu = " / ".join(f"{v[k] * 1000:.2f}" for k in ("cpu_server", "cpu_pg", "cpu_redis", "cpu_wrk"))
        total = sum(v[k] for k in ("cpu_server", "cpu_pg", "cpu_redis", "cpu_wrk")) * 1000
        return (
            f"| {name} | {v['rps']:,.0f} | {ratio:.2f} | {v['p50']:.1f} | {v['p95']:.1f} | {v['p99']:.1f} | "
            f"{int(v['errors'] + v['non2xx'])} | {cpu} | {total:.2f} | {load} |"
        )

    enp = results[1][1]
    ratio = enp["rps"] / baseline["rps"] if baseline["rps"] else 0.0
    verdict = "met" if ratio >= 0.45 and enp["p99"] <= 15 else "not met"
    feed_ratio = over_soap["rows_per_s"] / direct["rows_per_s"] if direct["rows_per_s"] else 0.0
    workers = "sync workers" if args.web_threads <= 1 else f"gthread workers of {args.web_threads} threads"
    threads_flag = f" --web-threads {args.web_threads}" if args.web_threads > 1 else ""
    if args.web_workers != 2:
        threads_flag += f" --web-workers {args.web_workers}"
    body = (
        f"""
Measured {dt.date.today().isoformat()} on {machine()}; register of {count:,} persons, embedded PostgreSQL 18.
Command: `python bench/bench_soap.py --persons {count} --duration {args.duration} --connections {args.connections}{threads_flag}`.
Hub: `rserz serve` (gunicorn, {args.web_workers} {workers}, keep-alive 5 s) on loopback; load: `wrk -t2 -c{args.connections}`
replaying requests pre-signed with the МО's RSA-2048 key or its GOST R 34.10-2012 (256-bit, CryptoPro-A)
key (WS-Security over Body and Timestamp; each request unique, so the replay guard passes them), the hub
verifying, checking the chain and CRL, validating against the XSD, journaling and signing every answer
(with its own GOST key for a GOST caller{gost_note()}). Baseline in the same run: an unsigned 5-field
spyne echo under the same gunicorn settings (`bench/spyne_echo.py`); "ratio" is req/s over the
baseline's. "CPU ms per request" is the CPU the processes used during the row's run over its requests:
the server (the hub's gunicorn master and workers, or the echo's) / PostgreSQL / Redis / wrk, and their
sum — 2 cores at full use give 2,000 ms per second, so the sum bounds the rate (psutil; a server on
another machine counts 0). "load" is the load average (1 / 5 / 15 min) just before the row's run.

| scenario | req/s | ratio | p50 ms | p95 ms | p99 ms | errors | CPU ms per request: server / PG / Redis / wrk | sum | load |
|---|---:|---:|---:|---:|---:|---:|---|---:|---|
"""
        + "\n".join(row(name, v, load) for name, v, load in results)
        + f"""

getChanges read rate: an ИСЗЛ (sees every change) pages through the published feed of {feed_rows:,} changes,
{args.feed_page:,} a page, for at most {args.duration} s, signing each request and reading NEXT_SEQ and MORE from the
signed answer (one client, one connection). Baseline in the same run: the same pages read straight from
PostgreSQL with `db.feed.read` in one process (no SOAP, no signatures).

| path | changes | pages | seconds | changes/s | ratio | load |
|---|---:|---:|---:|---:|---:|---|
| baseline: `db.feed.read`, in process | {direct["rows"]:,.0f} | {direct["pages"]:,.0f} | {direct["seconds"]:.1f} | {direct["rows_per_s"]:,.0f} | 1.00 | {feed_load_direct} |
| getChanges over SOAP, signed both ways | {over_soap["rows"]:,.0f} | {over_soap["pages"]:,.0f} | {over_soap["seconds"]:.1f} | {over_soap["rows_per_s"]:,.0f} | {feed_ratio:.2f} | {feed_load_soap} |

Target (issue 17): signed getPersonData at ≥ 0.45 of the echo with p99 ≤ 15 ms — this run: ratio
{ratio:.2f}, p99 {enp["p99"]:.1f} ms: **{verdict}**. Earlier target (issue 4): ≥ 600 req/s with p99 ≤ 30 ms;
identifyPerson with a typo p95 ≤ 50 ms. Where a request's CPU goes: `bench/profile_soap.py` (below).
"""
    )
    print(body)
    if not args.no_write:
        write_section(SECTION, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
