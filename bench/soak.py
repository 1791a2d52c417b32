"""Soak: the whole hub under mixed signed load at half its measured capacity, for half an hour.

    python bench/soak.py [--minutes 30] [--share 0.5] [--persons 2000] [--var-dir DIR] [--no-write]

Starts the hub as an operator does (``rserz up``, the same stand as the fault suite: ``bench/faults.py``),
measures its capacity for the mix with a closed loop first, then sends the mix open-loop at ``--share`` of
it: МО reads (``identifyPerson`` by name and birth date, ``getPersonData`` by ЕНП), and СМО writes
(``submitOperations``, two П010 of new persons each) as one request in ten. Every minute it records the
requests, errors, p50 and p99 latency, and the resident memory of the hub's processes (the supervisor and
everything under it but PostgreSQL and Redis). Acceptance (issue 17): no error, RSS growth ≤ 10 % from the
first minute after warm-up to the last, p99 stable (the last third's p99 within 1.5× the first third's).
The table goes to the section "Soak" of docs/benchmarks.md. ``make soak`` runs it; SOAK_MINUTES=5 for a
shorter one.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from bench.faults import KNOWN_PERSON, READER, WRITERS, Stand, _client, _free_port, _record  # noqa: E402
from bench.report import machine, write_section  # noqa: E402

SECTION = "Soak"
WARM_UP_S = 60.0
WRITE_EVERY = 10  # one request in ten is a write


@dataclass
class Minute:
    started: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    rss_mb: float = 0.0

    def p(self, q: float) -> float:
        return percentile_ms(self.latencies, q)


def percentile_ms(latencies: list[float], q: float) -> float:
    """The ``q`` quantile of latencies in seconds, in milliseconds (0 for none)."""
    if not latencies:
        return 0.0
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Mix:
    """One client per thread (zeep is not shared across threads); the request kinds in turn."""

    def __init__(self, stand: Stand) -> None:
        self.stand = stand
        self.local = threading.local()
        self.serial = 800_000_000 + int(time.time()) % 100_000 * 1000
        self.lock = threading.Lock()
        self.enp = ""

    def _clients(self) -> tuple[Any, Any, str]:
        if not hasattr(self.local, "reader"):
            writer = WRITERS[threading.get_ident() % len(WRITERS)]
            self.local.reader = _client(self.stand, "identification", READER)
            self.local.writer = _client(self.stand, "register", writer)
            self.local.smo = writer.split("-", 1)[1]
        return self.local.reader, self.local.writer, self.local.smo

    def prepare(self) -> None:
        reader, _w, _s = self._clients()
        answer = reader.service.identifyPerson(FIO=KNOWN_PERSON)
        if str(answer.ERR_CODE) != "0" or not answer.ZL:
            raise RuntimeError(f"the demo person is not identified: ERR_CODE {answer.ERR_CODE}")
        self.enp = str(answer.ZL[0].ENP)

    def request(self, n: int) -> None:
        reader, writer, smo = self._clients()
        if n % WRITE_EVERY == WRITE_EVERY - 1:
            with self.lock:
                self.serial += 2
                serial = self.serial
            ops = [_record(i + 1, serial + i, smo) for i in range(2)]
            answer = writer.service.submitOperations(
                REQUEST_ID=str(uuid.uuid4()), OPLIST={"VERS": "1.0", "SMOCOD": smo, "NRECORDS": 2, "OP": ops}
            )
        elif n % 2:
            answer = reader.service.identifyPerson(FIO=KNOWN_PERSON)
        else:
            answer = reader.service.getPersonData(ENP=self.enp)
        if str(answer.ERR_CODE) != "0":
            raise RuntimeError(f"ERR_CODE {answer.ERR_CODE}")


def hub_rss_mb(stand: Stand) -> float:
    """Resident memory of the supervisor and its descendants, PostgreSQL and Redis left out."""
    if stand.process is None:
        return 0.0
    total = 0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(stand.process.pid)
        for p in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                name = " ".join(p.cmdline()[:2])
                if "postgres" in name or "redis" in name:
                    continue
                total += p.memory_info().rss
    return total / 2**20


def capacity(mix: Mix, seconds: float, threads: int) -> float:
    """Requests per second of the mix in a closed loop (each thread sends the next when answered)."""
    done = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop(k: int) -> None:
        nonlocal done
        n = k
        while time.monotonic() < stop:
            mix.request(n)
            n += threads
            with lock:
                done += 1

    workers = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return done / (time.monotonic() - started)


def open_loop(
    mix: Mix, rate: float, seconds: float, threads: int, on_minute: Callable[[Minute], None], stand: Stand
) -> list[Minute]:
    """Requests due at ``rate`` per second, taken by ``threads`` senders; latency from send to answer."""
    minutes: list[Minute] = [Minute(0.0)]
    lock = threading.Lock()
    t0 = time.monotonic()
    ticket = 0

    def sender() -> None:
        nonlocal ticket
        while True:
            with lock:
                n = ticket
                ticket += 1
            due = t0 + n / rate
            if due - t0 >= seconds:
                return
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            began = time.monotonic()
            error = False
            try:
                mix.request(n)
            except Exception:  # noqa: BLE001 — counted: any error fails the soak
                error = True
            took = time.monotonic() - began
            with lock:
                bucket = minutes[-1]
                bucket.latencies.append(took)
                bucket.errors += error

    workers = [threading.Thread(target=sender, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    next_cut = t0 + 60
    while any(w.is_alive() for w in workers):
        time.sleep(0.5)
        if time.monotonic() >= next_cut:
            with lock:
                minutes[-1].rss_mb = hub_rss_mb(stand)
                on_minute(minutes[-1])
                minutes.append(Minute(next_cut - t0))
            next_cut += 60
    minutes[-1].rss_mb = hub_rss_mb(stand)
    if minutes[-1].latencies:
        on_minute(minutes[-1])
    else:
        minutes.pop()
    return minutes


@dataclass
class Verdict:
    errors: int
    rss_growth: float
    p99_first: float
    p99_last: float

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.rss_growth <= 0.10 and self.p99_last <= 1.5 * self.p99_first


def judge(minutes: list[Minute]) -> Verdict:
    """The acceptance of issue 17 over the minutes after the first (warm-up)."""
    steady = minutes[1:] if len(minutes) > 2 else minutes
    third = max(1, len(steady) // 3)

    def p99(ms: list[Minute]) -> float:
        return percentile_ms([x for m in ms for x in m.latencies], 0.99)

    first_rss = steady[0].rss_mb or 1.0
    return Verdict(
        errors=sum(m.errors for m in minutes),
        rss_growth=(steady[-1].rss_mb - first_rss) / first_rss,
        p99_first=p99(steady[:third]),
        p99_last=p99(steady[-third:]),
    )


def render(minutes: list[Minute], v: Verdict, rate: float, cap: float, args: argparse.Namespace) -> str:
    rows = "\n".join(
        f"| {i + 1} | {len(m.latencies):,} | {m.errors} | {m.p(0.5):.1f} | {m.p(0.99):.1f} | {m.rss_mb:,.0f} |"
        for i, m in enumerate(minutes)
    )
    return f"""
Measured {dt.date.today().isoformat()} on {machine()}; load average before: {args.load_before:.1f}.
Command: `python bench/soak.py --minutes {args.minutes:g} --share {args.share}` (`make soak`).
The whole hub (`rserz up`: 2 web workers, the RQ worker, the scheduler, the emulators, embedded PostgreSQL
and Redis) on a {args.persons:,}-person demo region; signed zeep clients on the same machine send the mix —
`identifyPerson` and `getPersonData` (МО), and one `submitOperations` of two П010 in ten requests (СМО).
Capacity of the mix in a closed loop ({args.threads} senders): {cap:.1f} req/s; the soak sends
{rate:.1f} req/s open-loop ({args.share:.0%}).

| minute | requests | errors | p50 ms | p99 ms | hub RSS MB |
|---:|---:|---:|---:|---:|---:|
{rows}

Errors: {v.errors}. RSS growth from the first steady minute to the last: {v.rss_growth:+.1%} (≤ 10 %).
p99 of the first third {v.p99_first:.1f} ms, of the last third {v.p99_last:.1f} ms (stable: ≤ 1.5×).
Verdict: **{"pass" if v.ok else "FAIL"}**.
"""


@contextlib.contextmanager
def _var_dir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="rserz-soak-") as tmp:
        yield Path(tmp)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--share", type=float, default=0.5, help="of the measured capacity (default 0.5)")
    ap.add_argument("--persons", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=4, help="senders (closed-loop probe and open loop)")
    ap.add_argument("--probe", type=float, default=30, help="seconds of the capacity probe")
    ap.add_argument("--var-dir", type=Path)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    args.load_before = os.getloadavg()[0]
    with _var_dir(args.var_dir) as var:
        stand = Stand(var, _free_port(), _free_port(), args.persons)
        print(f"starting the hub in {var} …", flush=True)
        stand.start()
        try:
            mix = Mix(stand)
            mix.prepare()
            capacity(mix, 5, args.threads)  # warm-up: WSDLs, caches, connections
            cap = capacity(mix, args.probe, args.threads)
            rate = args.share * cap
            print(
                f"capacity {cap:.1f} req/s; soaking at {rate:.1f} req/s for {args.minutes:g} min", flush=True
            )

            def show(m: Minute) -> None:
                print(
                    f"  {m.started / 60:4.0f} min: {len(m.latencies)} req, {m.errors} errors, "
                    f"p50 {m.p(0.5):.1f} ms, p99 {m.p(0.99):.1f} ms, RSS {m.rss_mb:.0f} MB",
                    flush=True,
                )

            minutes = open_loop(mix, rate, args.minutes * 60, args.threads * 2, show, stand)
        finally:
            stand.stop()
    verdict = judge(minutes)
    body = render(minutes, verdict, rate, cap, args)
    print(body)
    if not args.no_write:
        write_section(SECTION, body)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
