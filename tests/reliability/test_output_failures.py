"""Scenario 11, the output fails: a closed pipe or a full disk is one clear line, exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import Run, Stop, login_config

TASKS = (101, 102, 103)
SIM = {"tasks": 3, "cases": (600, 500, 400), "page_size": 100}
PIPE_CLOSED = "The output was closed before the run ended: the target stopped reading"
DISK_FULL = "no space left on the device"


def _check(run: Run, level: str, words: str) -> str:
    assert run.exit_code == 1, f"{level}: exit {run.exit_code}\n{run.stderr[-3000:]}"
    assert len(run.error_lines) == 1, f"{level}: {run.error_lines}\n{run.stderr[-3000:]}"
    assert words in run.error_lines[0], run.error_lines[0]
    assert "Exception ignored" not in run.stderr, run.stderr[-3000:]
    assert "Unexpected error" not in run.stderr
    if level == "INFO":
        assert "Traceback" not in run.stderr, run.stderr[-3000:]
    return run.error_lines[0]


@pytest.mark.parametrize(
    ("read", "level"),
    [(0, "DEBUG"), (4096, "INFO"), (200_000, "DEBUG")],
    ids=["at-once", "after-4KiB", "after-200KiB"],
)
def test_a_target_that_stops_reading_is_one_clear_line(make_sim, tap, figures, read, level):
    sim = make_sim(**SIM)
    stop = Stop(sig=None, after_bytes=read, close_reader=True)
    run = tap.run(login_config(sim.url, TASKS, page_size=100), log_level=level, stop=stop)
    _check(run, level, PIPE_CLOSED)
    assert len(run.stdout) == read, f"the tap wrote only {len(run.stdout)} bytes"
    figures.update(bytes_read_before_closing=read, exit_code=run.exit_code)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_full_disk_is_one_clear_line(make_sim, tap, figures, level):
    sim = make_sim(**SIM)
    with Path("/dev/full").open("wb") as full:
        run = tap.run(login_config(sim.url, TASKS, page_size=100), log_level=level, stdout=full)
    line = _check(run, level, DISK_FULL)
    assert "Writing the output failed" in line
    figures.update(exit_code=run.exit_code)
