"""The fault suite: the whole hub under signed load while its parts are killed and its world goes away.

    python bench/faults.py [--duration 300] [--var-dir DIR] [--persons 500] [--report docs/faults.md]

Starts the hub exactly as an operator does — ``rserz up`` (the supervisor of runtime/supervisor.py: web
workers under gunicorn, the RQ worker, the scheduler, the ФЕРЗЛ, СМЭВ 3 and ИСЗЛ emulators, embedded
PostgreSQL and Redis) — on a small synthetic region in a private var dir. A load generator sends signed
traffic: СМО writes (``submitOperations``, П010 of new persons, each REQUEST_ID retried with the same body
until the hub answers it, and recorded once answered) and МО reads (``identifyPerson``). While it runs,
faults are injected on a schedule, each kind once per round:

* kill -9 a gunicorn web worker (gunicorn must start another), the RQ worker, the scheduler and the
  emulators' process (the supervisor must restart each: the suite checks that it did, and how fast);
* restart PostgreSQL and Redis (stopped, down a few seconds, started again);
* take the ФЕРЗЛ, СМЭВ 3 and ИСЗЛ emulators down and up (their fault switches: an outage).

Then the load stops, every fault is lifted, the hub is given time to drain, and the invariants of
``rserz_soap/db/invariants.py`` are checked with SQL: every acknowledged write is in the register exactly
once, versions, change journal and feed have no gaps, every buffer entry is decided or waits with a
reason, every outbox is drained, and no person is in an impossible state. The report — what was injected
and when, whether the hub recovered, each invariant with its counts — is printed and written as the
section "Fault suite" of ``--report`` (default ``docs/faults.md``). Exit status 1 when any invariant or
recovery fails. ``make faults`` runs it at full size; ``tests/test_faults.py`` at a reduced one.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from bench.report import machine, write_section  # noqa: E402
from rserz_soap.db import invariants  # noqa: E402
from rserz_soap.db.engine import make_engine  # noqa: E402
from rserz_soap.domain.identifiers import make_snils  # noqa: E402
from rserz_soap.runtime.embedded import EmbeddedPostgres, EmbeddedRedis  # noqa: E402

SECTION = "Fault suite"
DEFAULT_REPORT = ROOT / "docs" / "faults.md"
WRITERS = ("smo-45001", "smo-45002")  # the second СМО signs with ECDSA
READER = "mo-450001"
KNOWN_PERSON = {"FAM": "Примерова", "IM": "Анна", "OT": "Сергеевна", "DR": dt.date(1985, 4, 12)}
RECOVERY_TIMEOUT_S = 30.0
FAULT_KINDS = (
    "kill -9 web worker",
    "kill -9 RQ worker",
    "kill -9 scheduler",
    "restart PostgreSQL",
    "ФЕРЗЛ down",
    "restart Redis",
    "СМЭВ 3 down",
    "kill -9 emulators",
    "ИСЗЛ down",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http(method: str, url: str, data: Any = None, timeout: float = 5) -> Any:
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


# --- the stand: `rserz up` in a private var dir ---------------------------------------------------------


@dataclass
class Stand:
    var: Path
    port: int
    emulators_port: int
    persons: int
    web_workers: int = 2
    process: subprocess.Popen[bytes] | None = None
    output: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def emulators(self) -> str:
        return f"http://127.0.0.1:{self.emulators_port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RSERZ_")}
        env.update(
            RSERZ_VAR_DIR=str(self.var),
            RSERZ_PORT=str(self.port),
            RSERZ_EMULATORS_PORT=str(self.emulators_port),
            RSERZ_DEMO_PERSONS=str(self.persons),
            RSERZ_WEB_WORKERS=str(self.web_workers),
        )
        return env

    def start(self, timeout: float = 180) -> float:
        self.var.mkdir(parents=True, exist_ok=True)
        self.output = self.var / "rserz-up.out"
        out = self.output.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rserz_soap", "up"],
            env=self.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"rserz up exited with {self.process.returncode}:\n{self.tail()}")
            if self.healthy():
                return time.monotonic() - started
            time.sleep(0.5)
        raise RuntimeError(f"the hub was not healthy within {timeout} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        if self.output is None or not self.output.exists():
            return ""
        return "\n".join(self.output.read_text(errors="replace").splitlines()[-lines:])

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def child(self, name: str) -> psutil.Process | None:
        """The supervisor's child running ``rserz <name>`` (serve, worker, scheduler, emulators)."""
        if not self.alive():
            return None
        assert self.process is not None
        try:
            for c in psutil.Process(self.process.pid).children():
                with contextlib.suppress(psutil.Error):
                    cmd = c.cmdline()
                    if cmd[-1:] == [name] and c.status() != psutil.STATUS_ZOMBIE:
                        return c
        except psutil.Error:
            return None
        return None

    def web_workers_now(self) -> list[psutil.Process]:
        master = self.child("serve")
        if master is None:
            return []
        with contextlib.suppress(psutil.Error):
            return [c for c in master.children() if c.status() != psutil.STATUS_ZOMBIE]
        return []

    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@/rserz?host={self.var / 'pg'}"

    def stop(self) -> str:
        """Ctrl-C, as an operator stops it; a Redis the suite restarted itself is stopped here too."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        EmbeddedRedis(self.var / "redis").stop()
        EmbeddedPostgres(self.var / "pg").stop()
        return self.tail()


# --- the load generator -----------------------------------------------------------------------------------


@dataclass
class Stats:
    writes_sent: int = 0
    writes_acknowledged: int = 0
    write_retries: int = 0
    writes_unanswered: int = 0
    reads_ok: int = 0
    reads_failed: int = 0
    internal_errors: int = 0  # SRV-002 answers: an outage must be SRV-001 (retry), never an internal error
    errors: Counter[str] = field(default_factory=Counter)
    acknowledged: list[invariants.Acknowledged] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {exc}".splitlines()[0][:90]
        with self.lock:
            self.errors[text] += 1
            if "internal error" in text:
                self.internal_errors += 1


def _client(stand: Stand, service: str, folder: str) -> Any:
    import zeep
    from zeep.transports import Transport

    from rserz_soap.xmlsig.keys import load_keypair
    from rserz_soap.xmlsig.trust import TrustStore
    from rserz_soap.xmlsig.zeep_plugin import WsseSigner

    pki = stand.var / "pki"
    signer = WsseSigner(
        load_keypair(pki / folder / "key.pem", pki / folder / "cert.pem"),
        trust=TrustStore.from_pki_dir(pki),
        accept_unsigned_faults=True,
    )
    transport = Transport(timeout=30, operation_timeout=30)  # type: ignore[no-untyped-call]
    return zeep.Client(f"{stand.url}/soap/{service}?wsdl", wsse=signer, transport=transport)  # type: ignore[no-untyped-call]


def _record(n: int, serial: int, smo: str) -> dict[str, Any]:
    """A П010 of a person nobody else is: a name, birth date, СНИЛС, passport and ВС of their own."""
    rnd = random.Random(serial)
    letters = "бвгдклмнпрст"
    stem = "".join(rnd.choice(letters) + rnd.choice("аеиоу") for _ in range(3))
    return {
        "N_REC": n,
        "TIP_OP": "П010",
        "PERSON": {
            "FAM": stem.capitalize() + "ова",
            "IM": rnd.choice(["Ольга", "Ирина", "Дарья", "Вера", "Нина"]),
            "OT": rnd.choice(["Ивановна", "Петровна", "Олеговна"]),
            "W": 2,
            "DR": dt.date(1950, 1, 1) + dt.timedelta(days=(serial * 37) % 20000),
            "MR": "г. Северск",
            "C_OKSM": "643",
            "SS": make_snils(serial),
            "KATEG": 1,
        },
        "DOC": [
            {
                "DOCTYPE": 14,
                "DOCSER": "45 09",
                "DOCNUM": f"{serial % 1_000_000:06d}",
                "DOCDATE": dt.date(2024, 8, 1),
                "NAME_VP": "УМВД",
                "MAIN": True,
            }
        ],
        "ADDRES_G": {"OKATO": "45000000000", "NPNAME": "г. Северск", "UL": "ул. Мира", "DOM": str(n)},
        "VIZIT": {"DVIZIT": dt.date(2025, 4, 1), "METHOD": 1, "RSMO": 1, "RPOLIS": 1},
        "INSURANCE": {
            "TER_ST": "45000",
            "POLIS": {
                "VPOLIS": 2,
                "NPOLIS": f"09{serial % 10**7:07d}",
                "DBEG": dt.date(2025, 4, 1),
                "DEND": dt.date(2025, 5, 13),
            },
        },
    }


class Load:
    """Writer threads (one per СМО) and a reader thread, until ``stop``."""

    def __init__(self, stand: Stand, stats: Stats, *, rate: float, batch: int = 2, seed: int = 0) -> None:
        self.stand, self.stats, self.batch = stand, stats, batch
        self.interval = len(WRITERS) / rate  # each writer's pause between its requests
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self._serial = 700_000_000 + (seed % 200) * 1_000_000  # СНИЛС serials below 10**9
        self._serial_lock = threading.Lock()

    def _next_serial(self) -> int:
        with self._serial_lock:
            self._serial += 1
            return self._serial

    def start(self) -> None:
        for folder in WRITERS:
            self.threads.append(threading.Thread(target=self._writer, args=(folder,), daemon=True))
        self.threads.append(threading.Thread(target=self._reader, daemon=True))
        for t in self.threads:
            t.start()

    def stop(self, timeout: float = 120) -> None:
        """Stop sending new writes; a write in flight is retried until answered (or ``timeout``)."""
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(timeout=max(0.1, deadline - time.monotonic()))

    def _connect(self, service: str, folder: str) -> Any:
        while True:
            try:
                return _client(self.stand, service, folder)
            except Exception as exc:  # noqa: BLE001 — the WSDL is fetched over HTTP: the hub may be down right now
                self.stats.error(exc)
                if self.stop_event.wait(1):
                    return None

    def _writer(self, folder: str) -> None:
        smo = folder.split("-", 1)[1]
        client = self._connect("register", folder)
        if client is None:
            return
        while not self.stop_event.is_set():
            ops = [_record(n + 1, self._next_serial(), smo) for n in range(self.batch)]
            oplist = {"VERS": "1.0", "SMOCOD": smo, "NRECORDS": len(ops), "OP": ops}
            rid = uuid.uuid4()
            with self.stats.lock:
                self.stats.writes_sent += 1
            began = time.monotonic()
            if self._until_answered(client, rid, oplist):
                with self.stats.lock:
                    self.stats.writes_acknowledged += 1
                    self.stats.acknowledged.append(invariants.Acknowledged("smo", smo, rid, len(ops)))
            else:
                with self.stats.lock:
                    self.stats.writes_unanswered += 1
            self.stop_event.wait(max(0.0, self.interval - (time.monotonic() - began)))

    def _until_answered(
        self, client: Any, rid: uuid.UUID, oplist: dict[str, Any], give_up: float = 90
    ) -> bool:
        """The same REQUEST_ID and body until the hub answers (the idempotency contract of a write)."""
        started = time.monotonic()
        first = True
        while time.monotonic() - started < give_up:
            if not first:
                with self.stats.lock:
                    self.stats.write_retries += 1
            first = False
            try:
                answer = client.service.submitOperations(REQUEST_ID=str(rid), OPLIST=oplist)
            except Exception as exc:  # noqa: BLE001 — a Fault, a refused connection, a timeout: not an answer
                self.stats.error(exc)
                time.sleep(0.5)
                continue
            if str(answer.ERR_CODE) == "0":
                return True
            self.stats.errors[f"ERR_CODE {answer.ERR_CODE}"] += 1
            return False
        return False

    def _reader(self) -> None:
        client = self._connect("identification", READER)
        if client is None:
            return
        while not self.stop_event.is_set():
            try:
                answer = client.service.identifyPerson(FIO=KNOWN_PERSON)
                ok = str(answer.ERR_CODE) == "0" and len(answer.ZL or []) >= 1
            except Exception as exc:  # noqa: BLE001
                self.stats.error(exc)
                ok = False
            with self.stats.lock:
                if ok:
                    self.stats.reads_ok += 1
                else:
                    self.stats.reads_failed += 1
            self.stop_event.wait(0.1 if ok else 0.5)


# --- the faults ---------------------------------------------------------------------------------------------


@dataclass
class Injection:
    at: float  # seconds since the load started
    kind: str
    detail: str
    recovered: bool | None = None  # None: nothing to recover (an outage lifted on schedule)
    recovery_s: float | None = None


class Injector:
    def __init__(self, stand: Stand, t0: float, outage: float) -> None:
        self.stand, self.t0, self.outage = stand, t0, outage
        self.done: list[Injection] = []

    def inject(self, kind: str) -> Injection:
        at = time.monotonic() - self.t0
        action: Callable[[], Injection] = {
            "kill -9 web worker": self._kill_web_worker,
            "kill -9 RQ worker": lambda: self._kill_child("worker"),
            "kill -9 scheduler": lambda: self._kill_child("scheduler"),
            "kill -9 emulators": lambda: self._kill_child("emulators"),
            "restart PostgreSQL": self._restart_postgres,
            "restart Redis": self._restart_redis,
            "ФЕРЗЛ down": lambda: self._outage("ferzl"),
            "СМЭВ 3 down": lambda: self._outage("smev3"),
            "ИСЗЛ down": lambda: self._outage("iszl"),
        }[kind]
        try:
            injection = action()
        except Exception as exc:  # noqa: BLE001 — an injection that could not be made is reported, not hidden
            injection = Injection(0, kind, f"could not inject: {type(exc).__name__}: {exc}", False)
        injection.at, injection.kind = round(at, 1), kind
        self.done.append(injection)
        print(f"  {injection.at:6.1f} s  {kind}: {injection.detail}", flush=True)
        return injection

    def _wait(self, ready: Callable[[], bool]) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < RECOVERY_TIMEOUT_S:
            if ready():
                return round(time.monotonic() - started, 1)
            time.sleep(0.2)
        return None

    def _kill_web_worker(self) -> Injection:
        workers = self.stand.web_workers_now()
        if not workers:
            return Injection(0, "", "no web worker found", False)
        victim = random.choice(workers)
        before = {w.pid for w in workers}
        os.kill(victim.pid, signal.SIGKILL)
        took = self._wait(
            lambda: (
                len({w.pid for w in self.stand.web_workers_now()} - before) >= 1
                and len(self.stand.web_workers_now()) >= len(workers)
            )
        )
        return Injection(0, "", f"pid {victim.pid}; gunicorn started another", took is not None, took)

    def _kill_child(self, name: str) -> Injection:
        victim = self.stand.child(name)
        if victim is None:
            return Injection(0, "", f"no `rserz {name}` process found", False)
        os.kill(victim.pid, signal.SIGKILL)

        def replaced() -> bool:
            now = self.stand.child(name)
            return now is not None and now.pid != victim.pid

        took = self._wait(replaced)
        if took is not None and name == "emulators":  # restarted is not enough: serving again
            more = self._wait(lambda: _answers(f"{self.stand.emulators}/ferzl/_control/health"))
            took = None if more is None else round(took + more, 1)
        return Injection(0, "", f"pid {victim.pid}; the supervisor restarted it", took is not None, took)

    def _restart_postgres(self) -> Injection:
        pg = EmbeddedPostgres(self.stand.var / "pg")
        pg.stop()
        time.sleep(self.outage)
        pg.start()
        took = self._wait(self.stand.healthy)
        return Injection(0, "", f"stopped (fast), down {self.outage:.0f} s, started", took is not None, took)

    def _restart_redis(self) -> Injection:
        redis = EmbeddedRedis(self.stand.var / "redis")
        redis.stop()
        time.sleep(self.outage)
        redis.start()
        took = self._wait(self.stand.healthy)
        return Injection(0, "", f"stopped, down {self.outage:.0f} s, started", took is not None, took)

    def _outage(self, emulator: str) -> Injection:
        base = f"{self.stand.emulators}/{emulator}/_control/faults"
        if emulator == "iszl":
            _http("POST", base, {"outage": True})
            time.sleep(self.outage)
            _http("POST", base, {"outage": False})
        else:
            until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.outage)
            _http("PUT", base, {"outage_until": until.isoformat()})
            time.sleep(self.outage)
            _http("PUT", base, {})
        return Injection(0, "", f"outage switch on for {self.outage:.0f} s, then off", None)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def lift_all_faults(stand: Stand) -> None:
    """Whatever an interrupted injection left switched on."""
    for name, method, body in (
        ("ferzl", "PUT", {}),
        ("smev3", "PUT", {}),
        ("iszl", "POST", {"outage": False}),
    ):
        with contextlib.suppress(OSError, urllib.error.URLError):
            _http(method, f"{stand.emulators}/{name}/_control/faults", body)


# --- the run ------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    started_in: float
    duration: float
    rounds: int
    injections: list[Injection]
    stats: Stats
    drained_in: float | None
    results: list[invariants.Result]
    hub_alive: bool
    restarts: str
    command: str
    hub_errors: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return (
            self.hub_alive
            and all(r.ok for r in self.results)
            and all(i.recovered is not False for i in self.injections)
            and self.stats.writes_acknowledged > 0
            and self.stats.writes_unanswered == 0
            and self.stats.internal_errors == 0
        )


def check(stand: Stand, acks: list[invariants.Acknowledged]) -> list[invariants.Result]:
    engine = make_engine(stand.database_url(), application_name="faults-check")
    try:
        with engine.connect() as conn:
            return invariants.check_all(conn, acks)
    finally:
        engine.dispose()


def drain(
    stand: Stand, acks: list[invariants.Acknowledged], timeout: float
) -> tuple[float | None, list[invariants.Result]]:
    """Seconds until every outbox is empty (the scheduler's jobs did their work), or None at ``timeout``.

    The СФР round runs every 10 minutes on the schedule, longer than a reduced run drains: while only the
    СМЭВ outbox waits, its jobs are asked for now (as an operator would), every 20 s — they are idempotent."""
    started = time.monotonic()
    nudged = 0.0
    while True:
        try:
            results = check(stand, acks)
        except Exception as exc:  # noqa: BLE001 — PostgreSQL may still be coming back
            print(f"  checking: {type(exc).__name__}: {exc}", flush=True)
            results = []
        waiting = [r for r in results if r.name in invariants.DRAINING and not r.ok]
        if results and not waiting:
            return round(time.monotonic() - started, 1), results
        if waiting and time.monotonic() - nudged > 20 and {r.name for r in waiting} <= {SMEV_OUTBOX}:
            nudged = time.monotonic()
            _run_smev_jobs_now(stand)
        if time.monotonic() - started > timeout:
            return None, results
        time.sleep(2)


SMEV_OUTBOX = "СМЭВ outbox drained"


def _run_smev_jobs_now(stand: Stand) -> None:
    from redis import Redis
    from rq import Queue

    from rserz_soap.jobs import queues, smev

    try:
        with Redis.from_url(EmbeddedRedis(stand.var / "redis").url) as conn:
            queue = Queue(queues.SMEV, connection=conn)
            queue.enqueue(smev.scheduled_snils, job_timeout=1800)
            queue.enqueue(smev.scheduled_zags, job_timeout=1800)
    except Exception as exc:  # noqa: BLE001 — Redis may still be coming back: the next round tries again
        print(f"  asking for the СМЭВ jobs: {type(exc).__name__}: {exc}", flush=True)


def schedule(duration: float, rounds: int) -> list[tuple[float, str]]:
    """Each kind of fault once per round, evenly spread over the run (the first after a calm start)."""
    kinds = [k for _ in range(rounds) for k in FAULT_KINDS]
    step = duration / (len(kinds) + 1)
    return [(step * (i + 1), kind) for i, kind in enumerate(kinds)]


@dataclass(frozen=True)
class Plan:
    duration: float = 300  # seconds of load
    rounds: int = 5  # every kind of fault this many times
    persons: int = 500  # the synthetic region
    rate: float = 2  # signed write requests per second (2 records each), all СМО together
    outage: float = 4  # seconds PostgreSQL, Redis or an emulator stays down
    drain_timeout: float = 180
    command: str = "python bench/faults.py"


def run(var: Path, plan: Plan) -> Outcome:
    duration, rounds, command = plan.duration, plan.rounds, plan.command
    stand = Stand(var, _free_port(), _free_port(), plan.persons)
    print(f"starting the hub (rserz up) in {var} …", flush=True)
    try:
        started_in = stand.start()
    except BaseException:
        stand.stop()
        raise
    print(
        f"healthy after {started_in:.1f} s; load for {duration:.0f} s, {rounds} round(s) of faults",
        flush=True,
    )
    stats = Stats()
    t0 = time.monotonic()
    load = Load(stand, stats, rate=plan.rate, seed=int(time.time()))
    injector = Injector(stand, t0, plan.outage)
    try:
        load.start()
        for at, kind in schedule(duration, rounds):
            delay = at - (time.monotonic() - t0)
            if delay > 0:
                time.sleep(delay)
            injector.inject(kind)
        rest = duration - (time.monotonic() - t0)
        if rest > 0:
            time.sleep(rest)
        lift_all_faults(stand)
        load.stop()
        print(
            f"load stopped: {stats.writes_acknowledged} of {stats.writes_sent} writes acknowledged, "
            f"{stats.reads_ok} reads; draining …",
            flush=True,
        )
        drained_in, results = drain(stand, list(stats.acknowledged), plan.drain_timeout)
        hub_alive = stand.alive()
    finally:
        load.stop_event.set()
        lift_all_faults(stand)
        out = stand.stop()
        hub_errors = logged_errors(stand.var / "log")
    restarts = "; ".join(
        line for line in out.splitlines() if "restart #" in line or "right after start" in line
    )
    return Outcome(
        started_in,
        duration,
        rounds,
        injector.done,
        stats,
        drained_in,
        results,
        hub_alive,
        restarts,
        command,
        hub_errors,
    )


def logged_errors(folder: Path) -> Counter[str]:
    """ERROR lines of the hub's own JSON logs (var/log/<process>.log) by process and last traceback line:
    what a failed request or job was, without keeping the var dir."""
    found: Counter[str] = Counter()
    for path in sorted(folder.glob("*.log")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if '"level": "ERROR"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            trace = [
                t
                for t in str(entry.get("traceback") or "").strip().splitlines()
                if not t.startswith("(Background")
            ]
            message = (str(entry.get("message", "")).strip().splitlines() or [""])[0]
            what = trace[-1] if trace else message
            what = re.sub(r"rserz-worker-\d+", "rserz-worker-N", what.replace(str(folder.parent), "var"))
            found[f"{path.stem}: {what[:140]}"] += 1
    return found


def render(o: Outcome) -> str:
    s = o.stats
    lines = [
        f"Run on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine()}.",
        f"Command: `{o.command}`.",
        "",
        f"The hub (`rserz up`, 2 web workers) was healthy {o.started_in:.1f} s after its start. Load for "
        f"{o.duration:.0f} s: {s.writes_sent} signed `submitOperations` (2 П010 each, REQUEST_ID retried "
        f"with the same body until answered: {s.write_retries} retries), {s.writes_acknowledged} acknowledged, "
        f"{s.writes_unanswered} never answered; {s.reads_ok} signed `identifyPerson` answered, "
        f"{s.reads_failed} failed while a fault was on. "
        + (
            f"Drained {o.drained_in:.0f} s after the load stopped."
            if o.drained_in is not None
            else "**Not drained** within the time allowed."
        )
        + f" The hub was {'still up' if o.hub_alive else '**down**'} at the end.",
        "",
        "| at (s) | fault | what was done | recovered |",
        "|---:|---|---|---|",
    ]
    for i in o.injections:
        rec = (
            "—"
            if i.recovered is None
            else (f"yes, in {i.recovery_s:.1f} s" if i.recovered and i.recovery_s is not None else "**no**")
        )
        lines.append(f"| {i.at:.1f} | {i.kind} | {i.detail} | {rec} |")
    lines += ["", "| invariant | rule | checked | violations | result |", "|---|---|---:|---:|---|"]
    for r in o.results:
        checked = "" if r.checked is None else str(r.checked)
        verdict = "pass" if r.ok else "**FAIL**: " + "; ".join(r.samples)
        lines.append(f"| {r.name} | {r.rule} | {checked} | {r.violations} | {verdict} |")
    if not o.results:
        lines.append("| (not checked) | the database did not answer | | | **FAIL** |")
    if o.restarts:
        lines += ["", f"Supervisor: {o.restarts}."]
    if s.errors:
        top = "; ".join(f"{n}× {e}" for e, n in s.errors.most_common(6))
        lines += ["", f"What clients saw while faults were on (most frequent): {top}."]
    if o.hub_errors:
        top = "; ".join(f"{n}× {e}" for e, n in o.hub_errors.most_common(8))
        lines += ["", f"ERROR lines in the hub's logs (most frequent): {top}."]
    lines += [
        "",
        f"Internal errors (SRV-002) answered: {s.internal_errors}"
        + (" — an outage must be answered SRV-001, retry later." if s.internal_errors else "."),
    ]
    lines += ["", f"Verdict: **{'every invariant holds' if o.ok else 'FAILED'}**."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300, help="seconds of load (default 300)")
    parser.add_argument("--rounds", type=int, default=0, help="rounds of every fault (default: 1 per 60 s)")
    parser.add_argument("--persons", type=int, default=500, help="size of the synthetic region")
    parser.add_argument("--rate", type=float, default=2, help="signed write requests per second (default 2)")
    parser.add_argument("--outage", type=float, default=4, help="seconds a server or emulator stays down")
    parser.add_argument("--drain-timeout", type=float, default=180)
    parser.add_argument("--var-dir", type=Path, help="the stand's var dir (default: a fresh temporary one)")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="where the section goes")
    parser.add_argument("--no-report", action="store_true", help="print only")
    args = parser.parse_args(argv)
    rounds = args.rounds or max(1, int(args.duration // 60))
    command = "python bench/faults.py " + " ".join(argv if argv is not None else sys.argv[1:])
    with _var_dir(args.var_dir) as var:
        plan = Plan(
            args.duration, rounds, args.persons, args.rate, args.outage, args.drain_timeout, command.strip()
        )
        outcome = run(var, plan)
    text = render(outcome)
    print(text)
    if not args.no_report:
        write_section(SECTION, text, args.report)
        print(f"written to {args.report}")
    return 0 if outcome.ok else 1


@contextlib.contextmanager
def _var_dir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="rserz-faults-") as tmp:
        yield Path(tmp) / "var"


if __name__ == "__main__":
    sys.exit(main())
