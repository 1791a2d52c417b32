"""Who sent this request, and may we believe it: WS-Security, trust, participant, freshness, replay.

Trust before work: the header's shape and the Timestamp's freshness (a message older than
``max_age`` is refused whatever its Expires says), then the token's certificate — chain, validity, CRL
(memory) and the registered participant (a cached lookup) — and only for a trusted signer the signature
itself (canonicalisation and digests, with the references capped and no URI twice), then the replay
cache (one Redis round trip), keyed on what was signed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from rserz_soap.db.participants import Participant
from rserz_soap.soap.faults import FaultCode, SoapFault
from rserz_soap.xmlsig.algorithms import SHA1
from rserz_soap.xmlsig.trust import TrustError, TrustStore, certificate_sha256
from rserz_soap.xmlsig.wsse import SignerPolicy, WsseError, verify_envelope

log = logging.getLogger(__name__)

_WSSE_FAULTS = {
    "no_security": FaultCode.UNSIGNED,
    "no_signature": FaultCode.UNSIGNED,
    "no_token": FaultCode.UNSIGNED,
    "no_timestamp": FaultCode.STALE,
    "body_not_signed": FaultCode.NOT_SIGNED_PARTS,
    "timestamp_not_signed": FaultCode.NOT_SIGNED_PARTS,
    "timestamp_expired": FaultCode.STALE,
    "timestamp_in_future": FaultCode.STALE,
}
_TRUST_FAULTS = {
    "untrusted_issuer": FaultCode.UNTRUSTED,
    "expired": FaultCode.EXPIRED,
    "not_yet_valid": FaultCode.EXPIRED,
    "revoked": FaultCode.REVOKED,
    "bad_key_usage": FaultCode.UNTRUSTED,
}


@dataclass(frozen=True)
class Caller:
    participant: Participant
    certificate_sha256: str
    replay_key: str
    body: Any  # the verified soap:Body element: read the request only from here
    gost: bool = False  # signed with a GOST key: answered with the hub's GOST key


_GOST_KEY_OIDS = frozenset({"1.2.643.7.1.1.1.1", "1.2.643.7.1.1.1.2"})  # GOST R 34.10-2012 256, 512


def _is_gost(certificate: Any) -> bool:
    return certificate.public_key_algorithm_oid.dotted_string in _GOST_KEY_OIDS


class ReplayCache:
    """Signed messages seen within their validity window (Redis SET NX with expiry).

    Every request asks once, so the command goes straight over a connection this thread keeps from the
    client's pool: redis-py's ``execute_command`` checks a connection out of the pool and back in (a poll
    of the socket, locks, observability hooks, a retry wrapper) around every command, which cost about as
    much CPU as the command itself. A kept connection the server has closed (a Redis restart, a client
    kill) is noticed before the command is sent — one poll of its socket — and replaced. A connection that
    fails is dropped, never reused; a send that fails on a kept connection all the same (closed between the
    poll and the send) is sent once more on a new one — the command did not reach Redis, so that cannot make
    a first message look like a replay. A failure after the command was sent is raised (the request gets
    SRV-001): whether Redis stored the key is unknown then.
    """

    def __init__(self, redis: Any, prefix: str = "rserz:replay:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._held = threading.local()

    def first_time(self, digest: str, ttl_seconds: int) -> bool:
        command = ("SET", self._prefix + digest, b"1", "NX", "EX", max(1, ttl_seconds))
        conn, fresh = self._connection()
        if not fresh and _closed(conn):  # Redis restarted or dropped it: a send might land in a dead socket
            self._drop(conn)
            conn, fresh = self._connection()
        try:
            conn.send_command(*command)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            self._drop(conn)
            if fresh:
                raise
            conn, _fresh = self._connection()
            try:
                conn.send_command(*command)
            except BaseException:
                self._drop(conn)
                raise
        except BaseException:
            self._drop(conn)
            raise
        try:
            return conn.read_response() is not None  # OK when set, nil when the key was there
        except BaseException:
            self._drop(conn)
            raise

    def _connection(self) -> tuple[Any, bool]:
        """This thread's connection, and whether it was just taken from the pool."""
        held = getattr(self._held, "conn", None)
        if held is not None and held[0] == os.getpid():  # never a connection inherited across a fork
            return held[1], False
        conn = self._redis.connection_pool.get_connection()
        self._held.conn = (os.getpid(), conn)
        return conn, True

    def _drop(self, conn: Any) -> None:
        self._held.conn = None
        try:
            conn.disconnect()
        finally:
            self._redis.connection_pool.release(conn)


def _closed(conn: Any) -> bool:
    """Has the server closed ``conn`` (or sent what nobody asked for)? An idle connection has nothing to
    read; one the server closed reads as end of file. One poll of the socket, no wait."""
    try:
        return bool(conn.can_read(timeout=0))
    except (RedisConnectionError, RedisTimeoutError, OSError):
        return True


class Gate:
    """Turns a parsed envelope into a trusted Caller, or raises a SoapFault with the reason."""

    def __init__(
        self,
        trust: TrustStore | ReloadingTrust,
        find_participant: Callable[[str], Participant | None],
        replay: ReplayCache,
        *,
        max_clock_skew: int = 60,
        max_age: int = 300,
        cache_seconds: float = 60.0,
    ) -> None:
        self._trust = trust
        self._find = find_participant
        self._replay = replay
        self._skew = max_clock_skew
        self._max_age = max_age
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Participant | None]] = {}
        self._lock = threading.Lock()

    def admit(self, envelope: Any, now: dt.datetime | None = None) -> Caller:
        now = now or dt.datetime.now(dt.UTC)
        signer: dict[str, Any] = {}

        def authorize(certificate: Any) -> SignerPolicy:
            try:
                self._trust.validate(certificate, at=now)
            except TrustError as exc:
                raise SoapFault(_TRUST_FAULTS.get(exc.code, FaultCode.UNTRUSTED), exc.code) from None
            sha = certificate_sha256(certificate).hex()
            participant = self._participant(sha)
            if participant is None or not participant.active:
                raise SoapFault(FaultCode.UNKNOWN_CERT)
            signer.update(participant=participant, sha=sha, gost=_is_gost(certificate))
            return SignerPolicy(frozenset() if participant.legacy_sha1 else frozenset({SHA1}))

        try:
            verified = verify_envelope(
                envelope, now=now, max_clock_skew=self._skew, max_age=self._max_age, authorize=authorize
            )
        except WsseError as exc:
            raise SoapFault(_WSSE_FAULTS.get(exc.code, FaultCode.BAD_SIGNATURE), exc.code) from None
        # the replay key lives as long as the message could be accepted: never longer than max_age + skew
        latest = now + dt.timedelta(seconds=self._max_age)
        if verified.created is not None:
            latest = min(latest, verified.created + dt.timedelta(seconds=self._max_age))
        if verified.expires is not None:
            latest = min(latest, verified.expires)
        ttl = int((latest - now).total_seconds()) + self._skew
        if not self._replay.first_time(verified.replay_key, ttl):
            raise SoapFault(FaultCode.REPLAY)
        return Caller(
            signer["participant"], signer["sha"], verified.replay_key, verified.body, signer["gost"]
        )

    def trust_health(self) -> TrustHealth:
        health = getattr(self._trust, "health", None)
        return health() if callable(health) else TrustHealth("ok")

    def _participant(self, sha: str) -> Participant | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(sha)
        if hit is not None and now - hit[0] < self._cache_seconds:
            return hit[1]
        found = self._find(sha)
        with self._lock:
            self._cache[sha] = (now, found)
        return found


@dataclass(frozen=True)
class TrustHealth:
    """What /healthz and `rserz status` say about the trust store: ok, stale CRL(s), or refusing."""

    state: str  # ok | stale | broken
    detail: str | None = None


class ReloadingTrust:
    """The trust store of a PKI folder, re-read when a CA or CRL file changes (checked every ``interval``).

    A revocation published to ``ca/crl.pem`` takes effect without restarting the hub's workers. It fails
    closed: a CRL that is missing, unreadable or not signed by its CA makes every request refused
    (SRV-001, the hub's own problem) and ``health()`` broken — never a silent fallback to the old list or
    to no revocation check at all — until the files are mended.
    """

    def __init__(self, pki_dir: Any, *, interval: float = 30.0) -> None:
        from pathlib import Path

        self._dir = Path(pki_dir)
        self._interval = interval
        self._lock = threading.Lock()
        self._checked = 0.0
        self._stamp: tuple[float, ...] = ()
        self._store: TrustStore | None = None
        self._broken: str | None = None
        self._load()

    def _files_stamp(self) -> tuple[float, ...]:
        files = [self._dir / d / f for d in ("ca", "gost-ca") for f in ("cert.pem", "crl.pem")]
        return tuple(f.stat().st_mtime_ns if f.exists() else 0 for f in files)

    def _load(self) -> None:
        self._stamp = self._files_stamp()
        try:
            self._store = TrustStore.from_pki_dir(self._dir, require_crl=True)
            self._broken = None
        except (OSError, ValueError) as exc:
            self._store = None
            self._broken = str(exc) or type(exc).__name__
            log.error("trust store refuses every request until mended: %s", self._broken)

    def validate(self, cert: Any, at: dt.datetime) -> None:
        now = time.monotonic()
        if now - self._checked >= self._interval:
            with self._lock:
                self._checked = now
                if self._files_stamp() != self._stamp:
                    self._load()
        store = self._store
        if store is None:
            raise SoapFault(FaultCode.UNAVAILABLE, "the hub cannot check certificates now")
        store.validate(cert, at=at)

    def health(self, at: dt.datetime | None = None) -> TrustHealth:
        if self._store is None:
            return TrustHealth("broken", self._broken)
        stale = self._store.stale_crls(at or dt.datetime.now(dt.UTC))
        return TrustHealth("stale", "; ".join(stale)) if stale else TrustHealth("ok")
