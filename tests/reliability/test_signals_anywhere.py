"""Issue 19 item 5: a signal ends the run promptly, whatever it is doing: exit 128 + the signal,
a whole last line, a last STATE bookmarking only tasks whose records all came before it: within
`STOP_SECONDS` if the output takes it, else a WARNING at that bound (a closed target: at once).
Scenario 11: a closed pipe or a full disk is one clear line, exit 1."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tap_centaur.output import STOP_SECONDS
from tests.harness import (
    LIST,
    LOGIN,
    Stop,
    assert_one_clear_error,
    login_config,
    partition_bookmarks,
)

TASKS_LIST = "/tasks/public/v1/list"
REQUEST_TIMEOUT = 120
SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]
#: The target stops reading at the first record; the signal comes once the tap is blocked.
BLOCKED: dict[str, Any] = {"after_text": b'"RECORD"', "blocked_reader": True}
#: Bytes added to every task_results RECORD line (making it longer than PIPE_BUF, 4 KiB).
LONG_LINE_PADS = (5000, 6000, 7000)
ACTIVITIES = ["login", "task list", "page", "between pages", "slow target", "closed target"]


def _stalled(sim, path, **match):
    """Drip every answer of `path`; the Stop fires once one such request is in flight."""
    sim.script_faults([{"kind": "stall", "count": 1000, "path": path, **match}])
    return Stop(after=lambda: bool(sim.stats()["faults"].get("stall")))


def _scenario(make_sim, activity):
    """The simulator, config and Stop (its signal left to set) that put the run in `activity`."""
    cases = (3000, 3000, 3000) if "target" in activity else (300, 300, 300)
    latency = 300 if activity == "between pages" else 0
    sim = make_sim(tasks=3, cases=cases, page_size=100, stall_byte_seconds=100, latency_ms=latency)
    tasks = [] if activity == "task list" else [101, 102, 103]  # [] lists every task
    settings = {"request_timeout": REQUEST_TIMEOUT, "max_parallel_tasks": 2}
    config = login_config(sim.url, tasks, **settings, state_interval_seconds=0)  # STATE per task
    stop = {
        "login": lambda: _stalled(sim, LOGIN),
        "task list": lambda: _stalled(sim, TASKS_LIST),
        "page": lambda: _stalled(sim, LIST, task_id=103),
        "between pages": lambda: Stop(after_text=b'"type":"RECORD","stream":"task_results"'),
        "stuck target": lambda: Stop(**BLOCKED),
        "slow target": lambda: Stop(**BLOCKED, resume_after=0.5),
        "closed target": lambda: Stop(**BLOCKED, close_reader=True),
    }[activity.removesuffix(" to a thread")]()
    return sim, config, stop


def _check_stopped(run, sim, sig, activity, *, long_lines=False):
    assert run.stopped, "the run ended before the signal"
    assert run.exit_code == 128 + sig, (run.exit_code, run.stderr[-2000:])
    seconds = run.stop_seconds or 0.0
    assert "Traceback" not in run.stderr and "| ERROR" not in run.stderr
    stopped_by = f"Stopped by {signal.Signals(sig).name}; "
    if activity == "closed target":  # what the pipe held unread is gone: no line to check
        assert seconds < STOP_SECONDS, f"the run took {seconds:.2f} s to stop"
        assert f"{stopped_by}the output could not be written" in run.stderr
        return
    cut = "; its last line (over 4 KiB) is cut"
    if long_lines:  # blocked writing a long line: the warning says whether it is cut
        assert (cut in run.stderr) == bool(run.partial_tail), len(run.partial_tail)
    else:
        assert not run.partial_tail and cut not in run.stderr, f"{len(run.partial_tail)} B cut"
    if activity == "stuck target":  # the tap waited for the target up to the bound, no longer
        assert STOP_SECONDS * 0.95 <= seconds < REQUEST_TIMEOUT / 4, f"{seconds:.2f} s"
        assert f"{stopped_by}the output was not read for {STOP_SECONDS:g} s" in run.stderr
    else:
        assert seconds < STOP_SECONDS, f"the run took {seconds:.2f} s to stop"
        assert run.messages[-1]["type"] == "STATE", "the output does not end with a STATE"
        assert f"{stopped_by}the last STATE holds" in run.stderr
    emitted = set(run.keys)
    for task, _ in partition_bookmarks(run.final_state):
        assert sim.keys(task) <= emitted, f"task {task} is bookmarked past records not written"


#: Every signal at every activity; SIGQUIT (its stack dump, then the same stop) at the task list;
#: SIGHUP at the login given to a thread other than the main one (which waits for the login).
STOPS = [(activity, sig) for activity in ACTIVITIES for sig in SIGNALS]
STOPS += [("task list", signal.SIGQUIT), ("login to a thread", signal.SIGHUP)]


@pytest.mark.parametrize(("activity", "sig"), STOPS, ids=[f"{a}-{s.name}" for a, s in STOPS])
def test_a_signal_ends_the_run_promptly_whatever_it_is_doing(make_sim, tap, figures, activity, sig):
    """A slow target reads again 0.5 s after the tap blocked writing: the final STATE is
    written. A closed target exits with the signal (Ctrl-C ends a whole pipeline)."""
    sim, config, stop = _scenario(make_sim, activity)
    stop = replace(stop, sig=sig, to_thread=activity.endswith("to a thread"))
    run = tap.run(config, stop=stop, timeout=REQUEST_TIMEOUT / 2)
    _check_stopped(run, sim, sig, activity)
    figures.update(exit_code=run.exit_code, seconds_to_exit=round(run.stop_seconds or 0, 2))
    if activity == "between pages":  # a run from its last STATE completes the data
        assert {task for task in (101, 102, 103) if not sim.keys(task) <= set(run.keys)}
        sim.set(latency_ms=0)
        resumed = tap.run(config, run.final_state)
        assert resumed.exit_code == 0, resumed.stderr[-3000:]
        assert set(run.keys) | set(resumed.keys) == sim.keys()
    if sig == signal.SIGQUIT:  # where each thread is
        assert "SIGQUIT: where each thread is (then the run stops):" in run.stderr
        assert "Thread 0x" in run.stderr and "most recent call first" in run.stderr
        assert 'File "' in run.stderr and "tap_centaur/" in run.stderr


def test_a_signal_while_the_target_never_reads_ends_the_run_at_the_bound(make_sim, tap, figures):
    """The tap is blocked writing and the target does not read until the tap has exited.

    The three signals at once (three runs, each waiting out the bound), and SIGTERM once more
    with RECORD lines over 4 KiB (a stream map pads them): the write it is blocked in may have
    written part of a line, or none of it (the kernel often fills the pipe up to a line's end,
    depending on the lengths and where the reader stopped), and the warning says which.
    """
    runs = {signal.Signals(sig).name: (sig, _scenario(make_sim, "stuck target")) for sig in SIGNALS}
    for pad in LONG_LINE_PADS:
        runs[f"lines + {pad} B"] = (signal.SIGTERM, _scenario(make_sim, "stuck target"))
        runs[f"lines + {pad} B"][1][1]["stream_maps"] = {"task_results": {"pad": f"'x' * {pad}"}}
    with ThreadPoolExecutor(len(runs)) as pool:
        futures = {
            name: pool.submit(tap.run, config, stop=replace(stop, sig=sig), timeout=60)
            for name, (sig, (_, config, stop)) in runs.items()
        }
    for name, future in futures.items():
        run, (sig, (sim, _, _)) = future.result(), runs[name]
        _check_stopped(run, sim, sig, "stuck target", long_lines=name.startswith("lines"))
        figures[name] = {
            "exit_code": run.exit_code,
            "seconds_to_exit": round(run.stop_seconds or 0, 2),
            "bytes_of_a_cut_line": len(run.partial_tail),
        }


PIPE_CLOSED = "The output was closed before the run ended: the target stopped reading"
FULL = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
OUTPUT_FAILURES = [  # bytes read before the target closes its end (None: the disk is full)
    pytest.param(0, "DEBUG", id="pipe-closed-at-once"),
    pytest.param(4096, "INFO", id="pipe-closed-after-4KiB"),
    pytest.param(200_000, "DEBUG", id="pipe-closed-after-200KiB"),
    *(
        pytest.param(None, level, id=f"disk-full-{level}", marks=FULL)
        for level in ("INFO", "DEBUG")
    ),
]


@pytest.mark.parametrize(("read", "level"), OUTPUT_FAILURES)
def test_a_closed_pipe_or_a_full_disk_is_one_clear_line(make_sim, tap, figures, read, level):
    sim = make_sim(tasks=3, cases=(600, 500, 400), page_size=100)
    config = login_config(sim.url, [101, 102, 103], page_size=100)
    if read is None:
        with Path("/dev/full").open("wb") as full:
            run = tap.run(config, log_level=level, stdout=full)
        said: tuple[str, ...] = ("Writing the output failed", "no space left on the device")
    else:
        stop = Stop(sig=None, after_bytes=read, close_reader=True)
        run, said = tap.run(config, log_level=level, stop=stop), (PIPE_CLOSED,)
        assert len(run.stdout) == read, f"the tap wrote only {len(run.stdout)} bytes"
    assert_one_clear_error(run, *said, traceback_allowed=level == "DEBUG")
    assert run.exit_code == 1 and len(run.error_lines) == 1, run.error_lines
    assert "Exception ignored" not in run.stderr and "Unexpected error" not in run.stderr
    figures.update(exit_code=run.exit_code)
