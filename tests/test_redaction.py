"""Credentials are masked in every form, in log records and in excerpts of server text."""

from __future__ import annotations

import io
import json
import logging
from urllib.parse import quote

from tap_centaur.redaction import (
    EXCERPT_CHARS,
    MASK,
    RedactingFilter,
    excerpt,
    redact,
    register_secret,
)


def test_registered_secrets_are_masked_in_messages_arguments_and_tracebacks():
    register_secret("s3cr3t-value-991")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test-redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("header Bearer %s", "s3cr3t-value-991")
        try:
            raise ValueError("boom s3cr3t-value-991")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "s3cr3t-value-991" not in output
    assert output.count(MASK) == 3  # the argument, the source line, the exception message
    assert "boom" in output


def test_short_values_are_not_registered():
    register_secret("ab")
    assert redact("tab") == "tab"


def test_every_form_of_a_secret_is_masked_before_an_excerpt_is_cut():
    secret = "s3cr3t/key+value\n99"  # changed by escaping, JSON and URL encoding
    register_secret(secret)
    forms = [secret, repr(secret), json.dumps(secret).replace("/", "\\/"), quote(secret, safe="")]
    masked = [redact(f"<{form}>") for form in forms]
    assert masked == [f"<{MASK}>", f"<'{MASK}'>", f'<"{MASK}">', f"<{MASK}>"]
    for cut_at in range(290, 310):  # a cut through the secret, or just after it
        shown = excerpt("x" * (cut_at - 5) + secret + "y" * 400)
        assert "s3cr3t" not in shown and "cr3t/" not in shown and "99" not in shown, shown
        assert shown.endswith("... (" + f"{cut_at - 5 + len(secret) + 400:,} in all)")


def test_excerpts_are_one_line_and_bounded():
    shown = excerpt("a\nb\r\x1b[2J\u2028\u202e" + "z" * 1000)
    assert shown.startswith("a\\nb\\r\\x1b[2J\\u2028\\u202e")
    assert len(shown) < EXCERPT_CHARS + 30
    assert excerpt("short") == "short"
