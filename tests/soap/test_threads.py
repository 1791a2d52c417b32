"""The SOAP endpoint under threaded gunicorn workers (``RSERZ_WEB_THREADS`` > 1): what a request's fault
says is read from its own validation, never from another thread's."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.config import load_settings
from rserz_soap.runtime.web_server import HubServer
from rserz_soap.soap.server import schema_fault
from rserz_soap.soap.services.identification import NS, SERVICE


def _get_person_data(enp: str) -> Any:
    el = etree.Element(f"{{{NS}}}getPersonData", nsmap={"idn": NS})
    etree.SubElement(el, f"{{{NS}}}ENP").text = enp
    return el


def _in_thread(work: Any) -> Any:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(work()))
    thread.start()
    thread.join()
    return out[0]


def test_a_validation_in_another_thread_does_not_replace_this_requests_errors() -> None:
    bad = _get_person_data("not an ЕНП")
    assert not SERVICE.schema.validate(bad)
    # another request's (valid) validation in another thread, between this validation and its fault
    assert _in_thread(lambda: SERVICE.schema.validate(_get_person_data("4550000000000001")))
    fault = schema_fault(SERVICE.schema.error_log)
    assert fault.field == "ENP"


def test_each_thread_validates_with_a_schema_of_its_own() -> None:
    assert SERVICE.schema is SERVICE.schema
    assert _in_thread(lambda: SERVICE.schema) is not SERVICE.schema


def test_threads_per_worker_choose_the_gthread_worker() -> None:
    def worker(threads: int) -> tuple[str, int]:
        server = HubServer(dataclasses.replace(load_settings(), web_threads=threads))
        return server.cfg.worker_class_str, server.cfg.threads

    assert worker(1)[0] == "sync"
    assert worker(4) == ("gthread", 4)
