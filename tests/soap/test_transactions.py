"""How many database transactions one signed submitOperations costs: the claim, the work and the answer
commit together (docs/architecture.md §3), so a batch is one transaction of the register's."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import event

from rserz_soap.domain.identifiers import make_snils
from rserz_soap.xmlsig.wsse import sign_envelope
from tests.soap.conftest import Hub
from tests.soap.test_answers_stable import _conversation, _envelope


@contextmanager
def _counted(hub: Hub) -> Iterator[list[list[str]]]:
    """Transactions opened by request threads (the journal's batching thread is off the request path):
    a BEGIN …, or each statement of an autocommit connection. Each is the list of its statements."""
    found: list[list[str]] = []
    current: dict[int, list[str]] = {}

    def on_begin(conn: Any) -> None:
        if threading.current_thread().name == "exchange-journal" or _autocommit(conn):
            return
        current[id(conn)] = []
        found.append(current[id(conn)])

    def on_execute(conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if threading.current_thread().name == "exchange-journal":
            return
        if _autocommit(conn):
            found.append([statement])
        elif id(conn) in current:
            current[id(conn)].append(statement)

    engine = hub.engine
    event.listen(engine, "begin", on_begin)
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield found
    finally:
        event.remove(engine, "begin", on_begin)
        event.remove(engine, "before_cursor_execute", on_execute)


def _autocommit(conn: Any) -> bool:
    return bool(conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT")


def _post(hub: Hub, service: str, operation: str, children: str) -> requests.Response:
    env = etree.fromstring(_envelope(service, operation, children))
    sign_envelope(env, hub.keypair("smo-45001"))
    path = {"idn": "identification", "reg": "register"}[service]
    return requests.post(
        f"{hub.url}/soap/{path}",
        data=etree.tostring(env),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=30,
    )


def test_a_submit_is_one_transaction_of_the_register(hub: Hub) -> None:
    _post(hub, "idn", "getPersonData", f"<idn:ENP>{hub.persons[0].enp}</idn:ENP>")  # the caller is known now
    submit = next(r for label, _f, _s, r in _conversation(hub) if label == "submit")
    operation, children = submit.split("|", 1)
    rid = str(uuid.uuid4())
    children = children.replace(str(uuid.UUID(int=0x5EED)), rid)
    children = children.replace(make_snils(610_000_001), make_snils(620_000_001)).replace("910001", "920001")
    with _counted(hub) as transactions:
        resp = _post(hub, "reg", operation, children)
    assert resp.status_code == 200, resp.text
    writing = [t for t in transactions if any(s.lstrip().upper().startswith(("INSERT", "UPDATE")) for s in t)]
    assert len(transactions) <= 3, [t[:3] for t in transactions]
    assert len(writing) == 1  # claim, entries, decisions, versions and the stored answer commit together
    statements = " ".join(writing[0])
    assert "idempotency_key" in statements and "buffer_entry" in statements and "person_version" in statements
