"""An outage of the outside world is one warning line; a real error keeps its traceback; under `rserz up`
a process's log is JSON lines in var/log/ and only warnings reach the terminal."""

from __future__ import annotations

import io
import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from rserz_soap.runtime import logs
from rserz_soap.usecases.federal_port import FederalUnavailable
from rserz_soap.usecases.smev_port import SmevUnavailable


def _rq_error(exc: Exception) -> str:
    """What RQ's worker logs when a job raises: a line, then the traceback as text."""
    try:
        raise exc
    except Exception:  # noqa: BLE001
        text = traceback.format_exc()
    return f"Worker w1: job rserz-ferzl-sync-retry: exception raised while executing (sync_changes)\n{text}"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(logs.OutageFilter())
    logger = logging.getLogger("rq.worker.test")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize(
    "exc",
    [FederalUnavailable("ФЕРЗЛ token: no password (FileNotFoundError)"), SmevUnavailable("ConnectionError")],
)
def test_an_outage_is_one_warning_line(captured: tuple[logging.Logger, io.StringIO], exc: Exception) -> None:
    logger, stream = captured
    logger.error("%s", _rq_error(exc))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("WARNING Worker w1: job rserz-ferzl-sync-retry: waits, will retry")
    assert lines[0].endswith(str(exc))


def test_a_real_error_keeps_its_traceback(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.error("%s", _rq_error(ZeroDivisionError("division by zero")))
    text = stream.getvalue()
    assert text.startswith("ERROR ") and "Traceback" in text and "ZeroDivisionError" in text


def test_a_supervised_process_logs_json_lines_and_warns_on_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RSERZ_LOG_DIR", str(tmp_path))
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        root.handlers = []
        logs.configure_process("worker", "INFO")
        log = logging.getLogger("rserz_soap.test")
        log.info("drained %d entries", 3, extra={"correlation_id": "c-1"})
        log.warning("ФЕРЗЛ pushes wait: timeout")
        for h in root.handlers:
            h.flush()
    finally:
        for h in root.handlers:
            h.close()
        root.handlers, root.level = saved[0], saved[1]
    entries = [
        json.loads(line) for line in (tmp_path / "worker.log").read_text(encoding="utf-8").splitlines()
    ]
    assert [(e["level"], e["message"]) for e in entries] == [
        ("INFO", "drained 3 entries"),
        ("WARNING", "ФЕРЗЛ pushes wait: timeout"),
    ]
    assert entries[0]["correlation_id"] == "c-1"
    err = capsys.readouterr().err
    assert "drained" not in err and "worker: WARNING ФЕРЗЛ pushes wait: timeout" in err
