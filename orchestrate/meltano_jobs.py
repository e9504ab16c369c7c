"""A Meltano project's jobs and schedules as Dagster jobs and schedules.

What Meltano lists (`meltano job list`, `meltano schedule list`, the JSON that orchestrators
read) becomes one Dagster job per Meltano job, one op per task (`meltano run TASK`, in the
job's order), and one Dagster schedule per Meltano schedule. Each op runs Meltano through
Dagster Pipes (`PipesSubprocessClient`), by way of `relay.py`, which reports Meltano's lines
to the run's log. Without `--force`: Meltano refuses a second run of a state id still running.
(No `from __future__ import annotations`: Dagster reads the ops' annotations at run time.)
"""

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster import (
    ConfigurableResource,
    DefaultScheduleStatus,
    Definitions,
    In,
    JobDefinition,
    Nothing,
    OpDefinition,
    OpExecutionContext,
    PipesSubprocessClient,
    ScheduleDefinition,
    in_process_executor,
    job,
    op,
)
from pydantic import Field

RELAY = Path(__file__).with_name("relay.py")
#: Seconds `meltano job list` and `meltano schedule list` may take.
LIST_TIMEOUT = 120


class Meltano(ConfigurableResource["Meltano"]):
    """A Meltano project: where it is, the `meltano` to run, variables to add to its runs."""

    project_dir: str
    executable: str = "meltano"
    env: dict[str, str] = Field(default_factory=dict)

    def run(self, context: OpExecutionContext, task: str) -> None:
        """`meltano run TASK` in the project; the step fails when Meltano exits non-zero."""
        command = [sys.executable, str(RELAY), self.executable, "run", *task.split()]
        PipesSubprocessClient(cwd=self.project_dir, env=self.env).run(
            context=context, command=command
        )


def listed(meltano: Meltano, what: str) -> dict[str, Any]:
    """`meltano WHAT list --format=json`, parsed (the text before the JSON is log lines)."""
    completed = subprocess.run(
        [meltano.executable, what, "list", "--format=json"],
        cwd=meltano.project_dir,
        env={**os.environ, **meltano.env},
        capture_output=True,
        text=True,
        timeout=LIST_TIMEOUT,
        check=False,
    )
    output = completed.stdout
    if completed.returncode != 0 or "{" not in output:
        raise RuntimeError(
            f"`meltano {what} list` in {meltano.project_dir} failed "
            f"(exit {completed.returncode}): {completed.stderr.strip()[-500:]}"
        )
    found: dict[str, Any] = json.loads(output[output.index("{") :])
    return found


def dagster_name(text: str) -> str:
    """A Dagster name (letters, digits, _) for a Meltano name or task."""
    return re.sub(r"\W", "_", text)


def task_op(task: str, name: str) -> OpDefinition:
    """The op that runs one task of a Meltano job."""

    @op(
        name=name,
        ins={"after": In(Nothing)},
        description=f"meltano run {task}",
        tags={"kind": "meltano"},
    )
    def run_task(context: OpExecutionContext, meltano: Meltano) -> None:
        meltano.run(context, task)

    return run_task


def meltano_job(name: str, tasks: Sequence[str]) -> JobDefinition:
    """A Dagster job running the tasks of a Meltano job one after the other."""
    ops = [task_op(task, f"{dagster_name(task)}_{n}") for n, task in enumerate(tasks, start=1)]

    @job(name=dagster_name(name), description=f"The Meltano job {name}: meltano run {name}")
    def run_job() -> None:
        previous = None
        for task in ops:
            previous = task(previous) if previous is not None else task()

    return run_job


def definitions(
    project_dir: str | Path, executable: str = "meltano", env: Mapping[str, str] | None = None
) -> Definitions:
    """The Dagster definitions of the Meltano project in `project_dir`."""
    meltano = Meltano(project_dir=str(project_dir), executable=executable, env=dict(env or {}))
    jobs = {job["job_name"]: meltano_job(job["job_name"], job["tasks"])
            for job in listed(meltano, "job")["jobs"]}  # fmt: skip
    schedules = [
        ScheduleDefinition(
            name=dagster_name(schedule["name"]),
            job=jobs[schedule["job"]["name"]],
            cron_schedule=schedule["cron_interval"],
            default_status=DefaultScheduleStatus.STOPPED,
        )
        for schedule in listed(meltano, "schedule")["schedules"]["job"]
    ]
    # In-process: a job's tasks run one after the other anyway, each in a Meltano process of
    # its own; a process per step would load the code location (and list Meltano's jobs) again.
    return Definitions(
        jobs=list(jobs.values()),
        schedules=schedules,
        resources={"meltano": meltano},
        executor=in_process_executor,
    )
