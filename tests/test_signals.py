"""A signal ends the run even when the handler interrupts a held lock or a hanging log filter.

Runs in scripted processes; tests/reliability/test_signals_anywhere.py stops real runs.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.harness import Stop, login_config, partition_bookmarks

PREAMBLE = """
import logging, os, signal, sys, threading, time
from tap_centaur import redaction
from tap_centaur.tap import install_log_rules
from tap_centaur.output import BufferedMsgSpecWriter, Stopper
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
logger = logging.getLogger("tap-centaur")
"""
#: The main thread masks a log line (holding redaction's lock) when SIGTERM comes.
WHILE_MASKING = """
install_log_rules()
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
    command = [sys.executable, "-c", PREAMBLE + script]
    done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert done.stdout == stdout
    assert log_line in done.stderr


def test_the_final_state_after_a_signal_keeps_the_bookmarks_of_finished_tasks(make_sim, tap):
    """What tests/reliability/test_signals_anywhere.py does not check: a signal after the first
    bookmark leaves it in the final STATE."""
    sim = make_sim(tasks=4, cases=(400, 400, 400, 400), page_size=20, latency_ms=30)
    config = login_config(
        sim.url, [101, 102, 103, 104], max_parallel_tasks=2, state_interval_seconds=0
    )
    stop = Stop(signal.SIGTERM, after_text=b'"replication_key_value"')
    run = tap.run(config, stop=stop, env={"PYTHONUNBUFFERED": "1"}, timeout=60)
    assert run.stopped
    assert run.exit_code == 128 + signal.SIGTERM
    bookmarks = partition_bookmarks(run.final_state)
    assert bookmarks, "the first task completed before the signal"
    assert len(bookmarks) < 4, "the run was stopped before the end"
    for task_id, _ in bookmarks:
        assert sim.keys(task_id) <= set(run.keys)
