"""A signal ends the run with a final STATE (scenarios: reliability/test_signals_anywhere.py)."""

from __future__ import annotations

import signal
import subprocess
import sys

from tests.harness import Stop, login_config, partition_bookmarks


def test_the_final_state_after_a_signal_keeps_the_bookmarks_of_finished_tasks(make_sim, tap):
    """What tests/reliability/test_signals_anywhere.py does not check: a signal after the first
    bookmark leaves it in the final STATE (the rest of a signal's end is checked there)."""
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
