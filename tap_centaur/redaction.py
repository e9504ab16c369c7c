"""What may be printed: no credential in any form or part, no server text that forges a line.

Server text goes through `excerpt` (masked, escaped, cut); `RedactingFilter` masks and escapes
each log line once more, whatever its source.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "********"
#: Characters of server text shown in one message (an error message, a body, a name).
EXCERPT_CHARS = 300
#: The end of a cut excerpt that starts a secret is masked from this many characters on.
_PARTIAL = 4

#: Every form of every registered credential.
_secrets: set[str] = set()
#: Reentrant: a signal handler may log in the main thread it interrupted while holding it.
_lock = threading.RLock()


def register_secret(value: str | None) -> None:
    """Remember a credential (API key, API password, bearer or session token) to mask."""
    if value and len(value) >= _PARTIAL:  # masking very short strings would garble text
        with _lock:
            _secrets.update(form for form in forms_of(value) if len(form) >= _PARTIAL)


def forms_of(secret: str) -> set[str]:
    """A secret as text may hold it: raw, escaped (Python, JSON), URL-encoded (in every way)."""
    as_json = json.dumps(secret)[1:-1]
    encoded = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    return {
        secret,
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "surrogatepass"))[2:-1],
        as_json,
        as_json.replace("/", "\\/"),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        *encoded,
        *(re.sub("%[0-9A-F]{2}", lambda escape: escape[0].lower(), form) for form in encoded),
    }


def redact(text: str) -> str:
    """Replace every form of every registered credential in `text` with a mask."""
    with _lock:
        forms = frozenset(_secrets)
    return _pattern(forms).sub(MASK, text) if forms else text


@functools.lru_cache(maxsize=1)
def _pattern(forms: frozenset[str]) -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, sorted(forms, key=len, reverse=True))))


def escape(text: str) -> str:
    """`text` on one line: control, format and separator characters escaped as Python does."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def excerpt(text: str, limit: int = EXCERPT_CHARS, *, total: int | None = None) -> str:
    """Server text masked, escaped, cut to `limit` characters and counted (`total`: the whole)."""
    with _lock:
        forms = list(_secrets)
    longest = max(map(len, forms), default=0)
    window = text[: 4 * limit + longest]
    shown = escape(redact(window))
    size = len(text) if total is None else total
    if len(shown) <= limit and len(window) == size:
        return shown
    straddling = shown.find(MASK, limit - len(MASK) + 1, limit + len(MASK) - 1)
    cut = shown[: limit if straddling == -1 else straddling + len(MASK)]  # a mask stays whole
    for start in range(max(len(cut) - longest, 0), len(cut) - _PARTIAL + 1):
        tail = cut[start:]
        if any(form.startswith(tail) for form in forms):
            cut = cut[:start] + MASK
            break
    return f"{cut}... ({size:,} in all)"


class RedactingFilter(logging.Filter):
    """A handler filter: each line masked and on one line; each traceback line an `excerpt`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message masked and escaped; keep the record."""
        record.msg = escape(redact(record.getMessage()))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:  # a library's exception may quote a server (urllib3: any header)
            record.exc_text = "\n".join(map(excerpt, record.exc_text.split("\n")))
        return True
