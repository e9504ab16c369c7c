"""The log filter masks credentials wherever they appear in a log record."""

from __future__ import annotations

import io
import logging

from tap_centaur.redaction import MASK, RedactingFilter, redact, register_secret


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
