"""Keeping credentials out of every log line and error message, at any log level."""

from __future__ import annotations

import logging
import threading

MASK = "********"

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a credential (API key, API password, bearer or session token) to mask."""
    if value and len(value) >= 4:  # masking very short strings would garble ordinary text
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Replace every registered credential in `text` with a mask."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A handler filter that masks credentials in the formatted message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message with its arguments, masked; always keep the record."""
        if _secrets:
            record.msg = redact(record.getMessage())
            record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
        return True
