"""How the long-running commands (`headwater server`, `headwater engine`) write their log, on
standard error: lines of text for a person at a terminal, or one JSON object per line for a
log shipper (`--log-format json`, Loki, Elasticsearch, CloudWatch...).

A JSON line holds `time` (UTC, ISO 8601), `level`, `logger` and `message`, every field the
call passed with `extra=` (`run_id`, `job_id`, `engine`, `request_id`: so that one query
finds every line about a run), and `exception` with its traceback when there is one.
uvicorn's own lines go through the same handler.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import click

TEXT = "%(asctime)s %(levelname)s %(message)s"
FORMATS = ("text", "json")
# What every LogRecord has: anything else on a record came from the call's `extra=`.
# uvicorn's `color_message` is its message again with ANSI colour codes, for its own terminal.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName", "color_message"}


class JsonLines(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((key, value) for key, value in vars(record).items()
                     if key not in _STANDARD and not key.startswith("_"))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


def configure_logging(log_format: str) -> None:
    """Send every log record at INFO and above to standard error, in `log_format`."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations say nothing useful


log_format_option = click.option(
    "--log-format", type=click.Choice(FORMATS), default="text", show_default=True,
    envvar="HEADWATER_LOG_FORMAT",
    help="How the log on standard error is written: text lines, or one JSON object per line "
         "for a log shipper [env: HEADWATER_LOG_FORMAT].")

__all__ = ["JsonLines", "configure_logging", "log_format_option"]


def log_configuration(log: logging.Logger) -> None:
    """Say at start which configuration file the process reads (alerts, warehouses,
    clusters), or that it reads none and what that means: a server or engine started from
    the wrong directory says so at once, instead of failing every alert later. (Not a
    warning: a loopback server without alerts needs no file.)"""
    import os
    from pathlib import Path

    from headwater.config import CONFIG_NAMES, CONFIG_VARIABLE, find_config

    found = find_config(os.environ, Path.cwd())
    if found is not None:
        log.info("configuration from %s", found.absolute())
        return
    log.info("no configuration file: neither %s nor %s in %s; alerts go to an SMTP server "
                "on localhost:25 and name no webhook destination, and no warehouse or cluster "
                "is configured (docs/guide/operations.md)", CONFIG_VARIABLE,
                " nor ".join(CONFIG_NAMES), Path.cwd())

