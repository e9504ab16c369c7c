"""Scenario 11, the output fails: a target that stops reading, a disk that is full.

The real `python -m tap_centaur`, its stdout a pipe whose reader closes it after 0 bytes, 4
KiB or 200 KiB of a 1 MB output (the target died), or `/dev/full` (every write fails with
ENOSPC). Each run must end with exit 1 and one ERROR line saying what happened (the output
was closed / no space left), with no traceback and no "Exception ignored" from the
interpreter at exit, at INFO and at DEBUG (where a traceback of the error is allowed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.harness import SECRETS, Sim, SimFactory, assert_no_secrets, login_config
from tests.harness.output import Output, parse
from tests.harness.process import ENV_PREFIX, sabotage_env

TASKS = (101, 102, 103)
SIM = {"tasks": 3, "cases": (600, 500, 400), "page_size": 100}
PIPE_CLOSED = "The output was closed before the run ended: the target stopped reading"
DISK_FULL = "no space left on the device"


def _run_with_stdout(
    sims: SimFactory, sim: Sim, run_dir: Path, *, level: str, stdout: Any, read: int | None
) -> tuple[Output, int]:
    """Run the tap with `stdout` (a file, or PIPE read for `read` bytes, then closed)."""
    run_dir.mkdir()
    config_path = run_dir / "config.json"
    config_path.write_text(json.dumps(login_config(sim.url, TASKS, page_size=100)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env |= {f"{ENV_PREFIX}LOGLEVEL": level, **sabotage_env()}
    stderr_path = run_dir / "stderr.log"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "tap_centaur", "--config", str(config_path)],
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=run_dir,
        )
        received = 0
        if process.stdout is not None:
            while read is not None and received < read:
                chunk = os.read(process.stdout.fileno(), min(4096, read - received))
                if not chunk:
                    break
                received += len(chunk)
            process.stdout.close()  # the target is gone
        code = process.wait(timeout=120)
    output = Output(code, b"", stderr_path.read_text(errors="replace"), 0.0, None)
    run = parse(output, in_process=False)
    assert_no_secrets(run, [*SECRETS, *sims.issued_tokens])
    return output, received


def _check(output: Output, level: str, words: str) -> str:
    assert output.exit_code == 1, f"{level}: exit {output.exit_code}\n{output.stderr[-3000:]}"
    errors = [line for line in output.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1, f"{level}: {errors}\n{output.stderr[-3000:]}"
    assert words in errors[0], errors[0]
    assert "Exception ignored" not in output.stderr, output.stderr[-3000:]
    assert "Unexpected error" not in output.stderr
    if level == "INFO":
        assert "Traceback" not in output.stderr, output.stderr[-3000:]
    return errors[0]


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
@pytest.mark.parametrize("read", [0, 4096, 200_000], ids=["at-once", "after-4KiB", "after-200KiB"])
def test_a_target_that_stops_reading_is_one_clear_line(make_sim, tmp_path, figures, read, level):
    sim = make_sim(**SIM)
    output, received = _run_with_stdout(
        make_sim, sim, tmp_path / "run", level=level, stdout=subprocess.PIPE, read=read
    )
    _check(output, level, PIPE_CLOSED)
    assert received == read, f"the tap wrote only {received} bytes"
    figures.update(bytes_read_before_closing=received, exit_code=output.exit_code)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_full_disk_is_one_clear_line(make_sim, tmp_path, figures, level):
    sim = make_sim(**SIM)
    with Path("/dev/full").open("wb") as full:
        output, _ = _run_with_stdout(
            make_sim, sim, tmp_path / "run", level=level, stdout=full, read=None
        )
    line = _check(output, level, DISK_FULL)
    assert "Writing the output failed" in line
    figures.update(exit_code=output.exit_code)
