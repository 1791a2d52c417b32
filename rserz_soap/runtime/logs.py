"""Where each process's log goes, and how an outage of the outside world reads in it.

* A process under `rserz up` (the supervisor sets ``RSERZ_LOG_DIR``) writes its log as JSON lines to
  ``var/log/<process>.log`` and only warnings and errors to the terminal, so the terminal shows the hub's
  startup and what needs a person, not every job's chatter.
* A process on its own (systemd, a container) logs to stderr at ``RSERZ_LOG_LEVEL`` for journald.
* Either way, a job that stops because ФЕРЗЛ or СМЭВ cannot be reached — which RQ reports as an error with
  a traceback each time it retries — is one warning line: the outside world is down, nothing is wrong
  with the hub, and the job will be retried.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from rserz_soap.config import supervised_log_dir

#: exceptions that mean "the outside world is unreachable now; the work waits and is retried"
OUTAGES = ("FederalUnavailable", "SmevUnavailable")
#: attributes a log record may carry (``extra=``) that the JSON lines keep
EXTRA = ("correlation_id", "participant", "operation", "job_id", "run_id")


class OutageFilter(logging.Filter):
    """RQ's "job … exception raised while executing" with a traceback of an outage → one warning line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR or not record.name.startswith("rq."):
            return True
        text = record.getMessage()
        for name in OUTAGES:
            if f"{name}:" not in text:
                continue
            reason = next(
                (
                    line.split(f"{name}:", 1)[1].strip()
                    for line in reversed(text.splitlines())
                    if f"{name}:" in line
                ),
                "",
            )
            head = text.splitlines()[0].replace("exception raised while executing", "waits, will retry")
            record.msg, record.args = "%s: %s", (head, reason)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
            break
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the known extras, and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key in EXTRA:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = str(value)
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_process(name: str, level: str) -> None:
    """Logging of a long-running process (serve, worker, scheduler, emulators)."""
    root = logging.getLogger()
    root.setLevel(level)
    outages = OutageFilter()
    folder = supervised_log_dir()
    if folder is None:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(outages)
        root.addHandler(handler)
        return
    folder.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(folder / f"{name}.log", encoding="utf-8")
    to_file.setFormatter(JsonLines())
    to_file.addFilter(outages)
    root.addHandler(to_file)
    terminal = logging.StreamHandler()
    terminal.setLevel(logging.WARNING)
    terminal.setFormatter(logging.Formatter(f"{name}: %(levelname)s %(message)s"))
    terminal.addFilter(outages)
    root.addHandler(terminal)


def configure_command(folder: Path, level: str, file_name: str = "rserz-cli.log") -> None:
    """An operator command (and the supervisor itself): its result on the terminal, warnings too, the rest
    in ``var/log/``."""
    root = logging.getLogger()
    root.setLevel(level)
    terminal = logging.StreamHandler()
    terminal.setLevel(logging.WARNING)
    terminal.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    terminal.addFilter(OutageFilter())
    root.addHandler(terminal)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(folder / file_name, encoding="utf-8")
    except OSError:  # a read-only var/: the terminal is all there is
        return
    handler.setFormatter(JsonLines())
    root.addHandler(handler)
