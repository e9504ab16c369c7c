"""SIGTERM and SIGINT end the run with 128 + the signal and a final STATE line; no line is cut."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.harness import Stop, login_config, partition_bookmarks


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_run_with_a_valid_final_state(make_sim, tap, signum):
    sim = make_sim(tasks=4, cases=(400, 400, 400, 400), page_size=20, latency_ms=30)
    # A STATE after every task, so that the signal can be aimed after the first bookmark.
    config = login_config(
        sim.url, [101, 102, 103, 104], max_parallel_tasks=2, state_interval_seconds=0
    )
    # Once the first task is bookmarked, a slow target: the pipe fills and the tap's writes
    # block; the signal comes 50 ms later, in the middle of task 2, a write likely blocked.
    stop = Stop(signum, after_text=b'"replication_key_value"', slow_reader=0.05)
    run = tap.run(config, stop=stop, env={"PYTHONUNBUFFERED": "1"}, timeout=60)
    assert run.stopped
    assert run.exit_code == 128 + signum  # the orchestrator learns the sync did not finish
    assert not run.partial_tail  # every line parses: none was cut by the signal
    messages = run.messages
    assert messages[-1]["type"] == "STATE"
    bookmarks = partition_bookmarks(messages[-1]["value"])
    assert bookmarks, "the first task completed before the signal"
    assert len(bookmarks) < 4, "the run was stopped before the end"
    records = set(run.keys)
    for task_id, _ in bookmarks:
        assert {(task_id, c["case_id"]) for c in sim.truth(task_id)} <= records


#: A process whose main thread is masking a log line (holding redaction's lock, as it does
#: for every line it logs) when SIGTERM comes.
_SIGNAL_WHILE_MASKING = """
import logging, os, signal, sys, time
from tap_centaur import logs, redaction
from tap_centaur.output import BufferedMsgSpecWriter
from tap_centaur.signals import Stopper
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
logger = logging.getLogger("tap-centaur")
logs.install(logger)
Stopper(BufferedMsgSpecWriter(), lambda: {"bookmarks": {}}, logger).install()
with redaction._lock:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
"""


def _run_script(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=20, check=False
    )


def test_a_signal_while_the_main_thread_masks_a_log_line_still_ends_the_run():
    """The handler formats its log lines (masking them) in the main thread it interrupted."""
    done = _run_script(_SIGNAL_WHILE_MASKING)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert done.stdout == '{"type":"STATE","value":{"bookmarks":{}}}\n'
    assert "Stopped by SIGTERM; the last STATE holds" in done.stderr


#: A process whose log handler never returns from formatting the "Stopped by" line (a lock
#: of a handler held elsewhere, say): the watchdog must already be running.
_SIGNAL_WHILE_A_HANDLER_HANGS = """
import logging, os, signal, sys, threading, time
from tap_centaur.output import BufferedMsgSpecWriter
from tap_centaur.signals import Stopper
class Stuck(logging.Filter):
    def filter(self, record):
        if record.getMessage().startswith("Stopped by"):
            threading.Event().wait()
        return True
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
logging.getLogger().handlers[0].addFilter(Stuck())
Stopper(BufferedMsgSpecWriter(), lambda: {"bookmarks": {}}, logging.getLogger("t")).install()
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(30)
"""


def test_a_signal_ends_the_run_even_when_its_log_line_cannot_be_formatted():
    """The watchdog starts before the handler formats anything, so the bound holds."""
    done = _run_script(_SIGNAL_WHILE_A_HANDLER_HANGS)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
