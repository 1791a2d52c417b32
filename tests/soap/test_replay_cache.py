"""The replay guard's Redis SET NX on a connection each thread keeps: the same verdicts as the command through
the client, and a connection that broke (Redis restarted) is replaced, never reused."""

from __future__ import annotations

import threading
import uuid

import redis

from rserz_soap.soap.security import ReplayCache


def test_a_digest_is_new_once_then_a_replay(redis_conn: redis.Redis) -> None:
    cache = ReplayCache(redis_conn, prefix=f"test:replay:{uuid.uuid4().hex}:")
    digest = uuid.uuid4().hex
    assert cache.first_time(digest, 60) is True
    assert cache.first_time(digest, 60) is False
    assert cache.first_time(uuid.uuid4().hex, 60) is True
    assert 0 < int(redis_conn.ttl(f"{cache._prefix}{digest}")) <= 60


def test_a_broken_connection_is_replaced_and_the_verdicts_stay_right(redis_conn: redis.Redis) -> None:
    cache = ReplayCache(redis_conn, prefix=f"test:replay:{uuid.uuid4().hex}:")
    first = uuid.uuid4().hex
    assert cache.first_time(first, 60)
    held, _fresh = cache._connection()
    held.send_command("CLIENT", "ID")
    killed = held.read_response()
    redis_conn.client_kill_filter(_id=killed)  # as a Redis restart leaves it: closed
    assert cache.first_time(uuid.uuid4().hex, 60) is True  # sent again on a new connection
    assert cache.first_time(first, 60) is False
    now, _fresh = cache._connection()
    now.send_command("CLIENT", "ID")
    assert now.read_response() != killed  # a new session, not the closed one


def test_threads_keep_connections_of_their_own(redis_conn: redis.Redis) -> None:
    cache = ReplayCache(redis_conn, prefix=f"test:replay:{uuid.uuid4().hex}:")
    digest = uuid.uuid4().hex
    verdicts: list[bool] = []
    threads = [
        threading.Thread(target=lambda: verdicts.append(cache.first_time(digest, 60))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(verdicts) == [False] * 7 + [True]
