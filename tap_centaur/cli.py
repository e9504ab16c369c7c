"""The `tap-centaur` command: the SDK's CLI, with every failure reported as one clear line.

Exit codes: 0 success; 1 a failed run (failed tasks, an API error, a closed output); 2 an
invalid setting or state; 128 + the signal (143, 130, 129, 131) when SIGTERM, SIGINT, SIGHUP or
SIGQUIT stopped the run (`signals.py`).
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
import typing as t

from singer_sdk.logging import ConsoleFormatter

from tap_centaur.errors import TapCentaurError
from tap_centaur.output import flush_pending_output
from tap_centaur.redaction import excerpt, redact
from tap_centaur.setting_checks import check_log_level
from tap_centaur.tap import ENV_PREFIX, TapCentaur

if t.TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger("tap-centaur")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the tap; on failure log one line (a traceback only at DEBUG) and exit non-zero.

    As the command (`argv` None), what the imports made is left out of garbage collection
    (`gc.freeze`): the collections of an exiting process would walk it all (0.1 s of every
    run, docs/PERFORMANCE.md).
    """
    if argv is None:
        gc.freeze()
    atexit.register(flush_pending_output)
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
    if not logging.getLogger().handlers:  # a failure before the SDK set up its logging
        handler = logging.StreamHandler()
        handler.setFormatter(ConsoleFormatter())
        logging.getLogger().addHandler(handler)
    logger.error(redact(message))
    logger.debug("Traceback of the error above:", exc_info=True)
    sys.exit(exit_code)
