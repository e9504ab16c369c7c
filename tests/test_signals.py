"""A signal ends the run even when the handler interrupts a held lock or a hanging log filter.

Runs in scripted processes; tests/reliability/test_signals_anywhere.py stops real runs.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

PREAMBLE = """
import logging, os, signal, sys, threading, time
from tap_centaur import logs, redaction
from tap_centaur.output import BufferedMsgSpecWriter
from tap_centaur.signals import Stopper
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
logger = logging.getLogger("tap-centaur")
"""
#: The main thread masks a log line (holding redaction's lock) when SIGTERM comes.
WHILE_MASKING = """
logs.install(logger)
Stopper(BufferedMsgSpecWriter(), lambda: {"bookmarks": {}}, logger).install()
with redaction._lock:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
"""
#: A log filter never returns from the "Stopped by" line: the watchdog must already run.
WHILE_A_FILTER_HANGS = """
class Stuck(logging.Filter):
    def filter(self, record):
        if record.getMessage().startswith("Stopped by"):
            threading.Event().wait()
        return True
logging.getLogger().handlers[0].addFilter(Stuck())
Stopper(BufferedMsgSpecWriter(), lambda: {"bookmarks": {}}, logger).install()
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(30)
"""
FINAL_STATE = '{"type":"STATE","value":{"bookmarks":{}}}\n'


@pytest.mark.parametrize(
    ("script", "stdout", "log_line"),
    [
        (WHILE_MASKING, FINAL_STATE, "Stopped by SIGTERM; the last STATE holds"),
        (WHILE_A_FILTER_HANGS, "", ""),  # the handler hangs before it asks for the STATE
    ],
    ids=["while-masking", "while-a-filter-hangs"],
)
def test_a_signal_ends_the_run_whatever_lock_the_main_thread_holds(script, stdout, log_line):
    done = subprocess.run(
        [sys.executable, "-c", PREAMBLE + script],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert done.stdout == stdout
    assert log_line in done.stderr
