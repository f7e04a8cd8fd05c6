"""Structured logs (`event key=value`) that carry no personal text and never the bot token.

httpx logs every request URL at INFO, and Telegram URLs contain the token, so httpx is held at
WARNING and a filter masks the token in anything that still gets through.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {"message", "asctime"}


class RedactSecrets(logging.Filter):
    """Replaces each secret with *** in the message and its arguments."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        for secret in self.secrets:
            message = message.replace(secret, "***")
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                text = text.replace(secret, "***")
            record.exc_text, record.exc_info = text, None
        return True


class KeyValueFormatter(logging.Formatter):
    """`time level logger event k=v ...`: greppable, one line per event."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        fields = " ".join(f"{k}={_value(v)}" for k, v in sorted(extras.items()))
        line = f"{self.formatTime(record)} {record.levelname} {record.name} {record.getMessage()}"
        if fields:
            line = f"{line} {fields}"
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        elif record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def _value(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if " " in text else text


def configure_logging(level: int = logging.INFO, secrets: list[str] | None = None) -> None:
    """Root logging for the CLI: stderr, key=value lines, secrets masked, httpx quiet."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(RedactSecrets(secrets or []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # python-telegram-bot logs every Bot API call with its parameters (message texts, invite links
    # in them) and every update at DEBUG: held at INFO whatever the level asked for (issue 14).
    logging.getLogger("telegram").setLevel(max(level, logging.INFO))


_redacted: set[str] = set()


def redact_everywhere(secret: str) -> None:
    """Masks `secret` in every log record from now on, whatever handler or level is configured.

    Works at record creation, so a test's capture handler or an operator's own logging setup
    (httpx at INFO logs each request URL, which holds the token) never sees it either.
    """
    if not secret or secret in _redacted:
        return
    _redacted.add(secret)
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's bug; leave the record as is
            return record
        if secret in message:
            record.msg, record.args = message.replace(secret, "***"), None
        return record

    logging.setLogRecordFactory(factory)
