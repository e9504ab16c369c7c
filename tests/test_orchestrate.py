"""orchestrate/: Meltano's jobs and schedules as Dagster's, each task run through Dagster Pipes,
with real Dagster in-process and a stand-in `meltano` (it lists jobs and schedules, and "runs" a
task by printing lines); tests/e2e/test_dagster.py runs them with the real Meltano."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from dagster import DagsterInstance, Definitions, EventLogEntry, ExecuteInProcessResult

from orchestrate.meltano_jobs import definitions

FAKE_MELTANO = '''#!{python}
"""A stand-in for `meltano`: lists two jobs and a schedule; `run TASK` prints lines."""
import json, pathlib, signal, sys, time
args = sys.argv[1:]
jobs = [
    {{"job_name": "both-taps", "tasks": ["tap-a target-x", "tap-b target-x"]}},
    {{"job_name": "slow", "tasks": ["tap-slow target-x"]}},
]
if args[1:] == ["list", "--format=json"]:
    print("a log line before the JSON", file=sys.stderr)
    if args[0] == "job":
        print(json.dumps({{"jobs": jobs}}))
    else:
        schedule = {{"name": "both-hourly", "interval": "@hourly", "cron_interval": "0 * * * *",
                    "job": {{"name": "both-taps", "tasks": jobs[0]["tasks"]}}}}
        print(json.dumps({{"schedules": {{"elt": [], "job": [schedule]}}}}))
    sys.exit(0)
task = " ".join(args[1:])
with open("{calls}", "a") as calls:
    print(task, file=calls)
print(f"2026-12-01T10:00:00.000000Z [info     ] tap says: running {{task}}")
if task == "tap-b target-x":
    print("2026-12-01T10:00:01.000000Z [info     ] tap-b | ERROR task 7: the API said no")
    sys.exit(1)
if task == "tap-slow target-x":
    def stop(signum, frame):
        pathlib.Path("{stopped}").write_text(str(signum))
        sys.exit(128 + signum)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    pathlib.Path("{started}").write_text("1")
    time.sleep(60)
'''


@pytest.fixture
def defs(tmp_path: Path) -> Definitions:
    """The definitions of the stand-in's project (its files in `tmp_path`)."""
    script = tmp_path / "meltano"
    files = {name: tmp_path / name for name in ("calls", "started", "stopped")}
    script.write_text(FAKE_MELTANO.format(python=sys.executable, **files))
    script.chmod(0o755)
    return definitions(tmp_path, str(script))


def run_job(defs: Definitions, name: str) -> tuple[ExecuteInProcessResult, Sequence[EventLogEntry]]:
    """Run job `name` in-process: its result and its log (event log entries, oldest first)."""
    with DagsterInstance.ephemeral() as instance:
        job = defs.resolve_job_def(name)
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        return result, instance.all_logs(result.run_id)


def level_of(entry: EventLogEntry) -> int:
    """The entry's level as a number (Dagster keeps a number or a name)."""
    level = entry.level
    return level if isinstance(level, int) else int(logging.getLevelName(level.upper()))


def messages(log: Sequence[EventLogEntry], level: int = logging.DEBUG) -> list[str]:
    return [e.user_message for e in log if e.dagster_event is None and level_of(e) >= level]


def test_jobs_ops_and_schedules_come_from_meltanos_lists(defs: Definitions) -> None:
    job = defs.resolve_job_def("both_taps")
    assert sorted(node.name for node in job.nodes) == ["tap_a_target_x_1", "tap_b_target_x_2"]
    # The second task waits for the first.
    structure = job.graph.dependency_structure
    upstream = structure.input_to_upstream_outputs_for_node("tap_b_target_x_2")
    assert [out.node_name for outs in upstream.values() for out in outs] == ["tap_a_target_x_1"]
    assert not structure.input_to_upstream_outputs_for_node("tap_a_target_x_1")
    schedule = defs.resolve_schedule_def("both_hourly")
    assert (schedule.cron_schedule, schedule.job_name) == ("0 * * * *", "both_taps")


def test_each_line_is_in_the_runs_log_and_a_failed_task_fails_the_run(
    defs: Definitions, tmp_path: Path
) -> None:
    result, log = run_job(defs, "both_taps")
    assert not result.success
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == ["tap-a target-x", "tap-b target-x"]  # in order; the second failed
    info = messages(log, logging.INFO)
    assert any(line.endswith("tap says: running tap-a target-x") for line in info)
    assert messages(log, logging.ERROR) == [
        "2026-12-01T10:00:01.000000Z [info     ] tap-b | ERROR task 7: the API said no",
        "meltano run tap-b target-x exited with code 1",
    ]


def test_a_listing_that_fails_names_the_command(tmp_path: Path) -> None:
    broken = tmp_path / "meltano"
    broken.write_text(f"#!{sys.executable}\nimport sys\nsys.exit('no project here')\n")
    broken.chmod(0o755)
    failed = r"`meltano job list` in .* failed \(exit 1\): no project here"
    with pytest.raises(RuntimeError, match=failed):
        definitions(tmp_path, str(broken))


def test_stopping_the_run_stops_meltano(defs: Definitions, tmp_path: Path) -> None:
    # Dagster stops a run with SIGINT to its process; the op passes it on to the relay, which
    # passes it on to Meltano.
    started = tmp_path / "started"

    def interrupt() -> None:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if started.exists():  # only while the op runs (Dagster turns SIGINT into its error)
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    result, _ = run_job(defs, "slow")
    assert not result.success
    assert (tmp_path / "stopped").read_text() == str(int(signal.SIGINT))
