"""The tap run in this process through `tap_centaur.tap.main`, as in a process of its own: its
exit code from `SystemExit`, its atexit hooks run at its end, all it changes in the process
(streams, environment, loggers, warning filters, signal handlers, excepthook, masked secrets)
restored afterwards. One run at a time: they share the process."""

from __future__ import annotations

import atexit
import contextlib
import io
import logging
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator

from tests.harness.checks import Run, parse
from tests.harness.process import ENV_PREFIX

_IN_PROCESS = threading.Lock()
#: Seconds a run waits, at most, for the threads that earlier runs left behind to end.
EARLIER_THREADS_SECONDS = 10.0


def run_in_process(argv: list[str], env: dict[str, str]) -> Run:
    from tap_centaur.tap import main

    with _IN_PROCESS:
        wait_for_tap_threads()
        started = time.monotonic()
        with _isolated_process(env) as (out, err, exit_hooks):
            try:
                main(argv)
                code: object = 0
            except SystemExit as exc:
                code = exc.code
            except Exception:  # noqa: BLE001 - as the interpreter does with an uncaught error
                sys.excepthook(*sys.exc_info())
                code = 1
            for hook in reversed(exit_hooks):  # what the interpreter does at exit
                try:
                    hook()
                except Exception:  # noqa: BLE001 - atexit prints the error and goes on
                    traceback.print_exc()
            sys.stdout.flush()
            if code is not None and not isinstance(code, int):
                print(code, file=sys.stderr)
                code = 1
        duration = time.monotonic() - started
        return parse(code or 0, out.getvalue(), err.getvalue(), duration=duration)


def wait_for_tap_threads() -> None:
    """Let the tap's threads (`tap-centaur-*`) of earlier runs end, for a while: their process's
    exit would have ended them; here they could log into the next run's stderr and send requests
    with its environment (a proxy)."""
    deadline = time.monotonic() + EARLIER_THREADS_SECONDS
    for thread in threading.enumerate():
        if thread.name.startswith("tap-centaur") and thread is not threading.current_thread():
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


@contextlib.contextmanager
def _isolated_process(
    env: dict[str, str],
) -> Iterator[tuple[io.BytesIO, io.StringIO, list[Callable[[], object]]]]:
    """Yield the tap's stdout (bytes), stderr and atexit hooks; restore the process after."""
    from tap_centaur import redaction
    from tap_centaur.output import SIGNALS

    out, err = io.BytesIO(), io.StringIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    exit_hooks: list[Callable[[], object]] = []
    saved_streams = sys.stdout, sys.stderr, sys.excepthook
    saved_environ = dict(os.environ)
    saved_loggers = _logger_settings()
    saved_secrets = set(redaction._secrets)  # the masks of earlier runs only
    in_main_thread = threading.current_thread() is threading.main_thread()
    saved_handlers = [signal.getsignal(s) for s in SIGNALS] if in_main_thread else []
    register = atexit.register

    def register_exit_hook(
        func: Callable[..., object], *args: object, **kwargs: object
    ) -> Callable[..., object]:
        exit_hooks.append(lambda: func(*args, **kwargs))
        return func

    for name in [name for name in os.environ if name.startswith(ENV_PREFIX)]:
        del os.environ[name]  # the test process's settings: a subprocess does not get them
    os.environ.update(env)
    logging.getLogger().handlers = []  # pytest's; the tap adds its own, on its stderr
    atexit.register = register_exit_hook  # type: ignore[assignment]
    sys.stdout, sys.stderr = stdout, err
    try:
        with warnings.catch_warnings():
            yield out, err, exit_hooks
    finally:
        sys.stdout, sys.stderr, sys.excepthook = saved_streams
        atexit.register = register
        for handler, sig in zip(saved_handlers, SIGNALS, strict=False):
            if handler is not None:
                signal.signal(sig, handler)
        _restore_loggers(saved_loggers)
        os.environ.clear()
        os.environ.update(saved_environ)
        redaction._secrets.clear()
        redaction._secrets.update(saved_secrets)
        stdout.detach()


_LoggerSettings = list[tuple[logging.Logger, int, list[logging.Handler], bool, bool]]


def _logger_settings() -> _LoggerSettings:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    return [
        (logger, logger.level, list(logger.handlers), logger.propagate, logger.disabled)
        for logger in loggers
        if isinstance(logger, logging.Logger)
    ]


def _restore_loggers(saved: _LoggerSettings) -> None:
    """Loggers made during the run are left as made (a process of its own would have them)."""
    for logger, level, handlers, propagate, disabled in saved:
        if logger.level != level:
            logger.setLevel(level)
        logger.handlers = handlers
        logger.propagate = propagate
        logger.disabled = disabled
