"""One way to reach Redis: a plain URL, or Redis Sentinel naming the primary (docs/deployment.md).

``RSERZ_REDIS_URL`` is either what redis-py's ``from_url`` takes (``redis://``, ``rediss://``,
``unix://``) or ``redis+sentinel://[:password@]host1:26379,host2:26379/<service>/<db>`` — the Sentinels
to ask and the name of the monitored primary (``sentinel monitor <service> …`` in sentinel.conf). With
Sentinel every command goes to whichever server is primary now: after a failover the client asks the
Sentinels again on its next connection, so the web workers, the RQ worker and the scheduler follow the
new primary without a restart.

redis-py has no URL form for Sentinel, hence this parser; everything else is redis-py's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from redis import Redis
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    password: str | None


def parse_sentinel_url(url: str) -> SentinelTarget:
    """``redis+sentinel://[:pw@]h1:26379,h2:26379/mymaster/0`` → its parts; a malformed URL is refused."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        raise ValueError(f"not a {SENTINEL_SCHEME}:// URL")
    netloc = parts.netloc
    password = None
    if "@" in netloc:
        creds, netloc = netloc.rsplit("@", 1)
        password = unquote(creds.split(":", 1)[1] if ":" in creds else creds) or None
    sentinels = []
    for item in filter(None, netloc.split(",")):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{SENTINEL_SCHEME}:// needs host:port for every Sentinel")
        sentinels.append((host.strip("[]"), int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not sentinels or not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError(f"{SENTINEL_SCHEME}://host:port[,host:port…]/<service>[/<db>] expected")
    return SentinelTarget(tuple(sentinels), path[0], int(path[1]) if len(path) == 2 else 0, password)


def redis_from_url(url: str, **kwargs: Any) -> Redis:
    """A client for ``RSERZ_REDIS_URL``: plain Redis, or the current primary behind Sentinel."""
    if not url.startswith(SENTINEL_SCHEME + "://"):
        return Redis.from_url(url, **kwargs)
    target = parse_sentinel_url(url)
    timeouts = {k: v for k, v in kwargs.items() if k in ("socket_timeout", "socket_connect_timeout")}
    sentinel = Sentinel(list(target.sentinels), sentinel_kwargs=timeouts, **timeouts)  # type: ignore[no-untyped-call]
    client: Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        target.service, db=target.db, password=target.password, **kwargs
    )
    return client
