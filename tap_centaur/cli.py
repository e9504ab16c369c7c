"""The `tap-centaur` command: the SDK's CLI, every failure one line, the exit code (README)."""

from __future__ import annotations

import gc
import logging
import os
import sys
import typing as t

from singer_sdk.logging import DEFAULT_FORMAT

from tap_centaur.errors import TapCentaurError
from tap_centaur.redaction import excerpt, redact
from tap_centaur.setting_checks import check_log_level
from tap_centaur.tap import ENV_PREFIX, TapCentaur

if t.TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger("tap-centaur")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the tap; on failure log one line (a traceback only at DEBUG) and exit non-zero."""
    if argv is None:  # the command: an exiting process need not collect the imports' objects
        gc.freeze()
    try:
        check_log_level(os.environ, ENV_PREFIX)  # before the SDK sets up its logging with it
        TapCentaur.cli.main(args=list(argv) if argv is not None else None)
    except TapCentaurError as exc:
        _fail(str(exc), exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: still one clear line
        _fail(
            f"Unexpected error ({type(exc).__name__}): {excerpt(str(exc))}. Rerun with "
            "TAP_CENTAUR_LOGLEVEL=DEBUG for a traceback and report it.",
            1,
        )


def _fail(message: str, exit_code: int) -> t.NoReturn:
    logging.basicConfig(format=DEFAULT_FORMAT, style="{")  # no-op once the SDK set up logging
    logger.error(redact(message))
    logger.debug("Traceback of the error above:", exc_info=True)
    sys.exit(exit_code)
