"""The `tap-centaur` command: the SDK's CLI, with every failure reported as one clear line."""

from __future__ import annotations

import atexit
import logging
import sys
from collections.abc import Sequence

from tap_centaur.errors import TapCentaurError
from tap_centaur.output import flush_pending_output
from tap_centaur.redaction import install_redaction, redact
from tap_centaur.tap import TapCentaur

logger = logging.getLogger("tap-centaur")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the tap; on failure print one line (a traceback only at DEBUG) and exit non-zero.

    `argv` is the command's arguments (default: the command line's). The SDK itself reports
    errors in its built-in settings (one line naming the setting).
    """
    atexit.register(flush_pending_output)
    try:
        TapCentaur.cli(args=argv)
    except TapCentaurError as exc:
        _fail(str(exc), exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: still one clear line
        _fail(
            f"Unexpected error ({type(exc).__name__}): {exc}. Rerun with "
            "TAP_CENTAUR_LOGLEVEL=DEBUG for a traceback and report it.",
            1,
        )


def _fail(message: str, exit_code: int) -> None:
    install_redaction()
    logger.error(redact(message))
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("Traceback of the error above:", exc_info=True)
    sys.exit(exit_code)
