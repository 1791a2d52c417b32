"""Is PostgreSQL answering: the database half of ``/healthz``."""

from __future__ import annotations

from sqlalchemy import Engine, text


def ping(engine: Engine) -> None:
    """One round trip; raises whatever the driver raises when the server does not answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


#: SQLSTATEs of a server that is going away or not there yet: connection exceptions (class 08),
#: admin_shutdown, crash_shutdown, cannot_connect_now (57P01…57P03)
_GOING_AWAY = ("08", "57P01", "57P02", "57P03")


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) says PostgreSQL cannot be reached right now —
    restarting, stopped, or the connection dropped — as opposed to a fault of the request or of the code.
    A caller answers such a request with "temporarily unavailable, retry", not with an internal error."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, psycopg.OperationalError):
            state = current.sqlstate
            if state is None or state.startswith(_GOING_AWAY):
                return True
        current = current.__cause__ or current.__context__
    return False
