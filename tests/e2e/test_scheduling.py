"""The README's "Scheduling": the jobs and the schedule of meltano.yml, as orchestrators read them.

Dagster running the jobs, the two shards at the same time, is tests/e2e/test_dagster.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.e2e.conftest import (
    ROOT,
    Meltano,
    RunResult,
    plugin,
)

pytestmark = pytest.mark.e2e

JOB = "centaur-to-postgres"
SCHEDULE = "centaur-to-postgres-hourly"
SHARDS = ("tap-centaur--shard-0", "tap-centaur--shard-1")


def json_output(result: RunResult) -> Any:
    return json.loads(result.stdout[result.stdout.index("{") :])


def test_meltano_lists_the_hourly_schedule_of_the_job(meltano: Meltano) -> None:
    # What orchestrators read: Meltano's Airflow DAG generator and dagster-meltano list the
    # schedules and jobs with these commands.
    schedules = json_output(meltano("schedule", "list", "--format=json"))["schedules"]
    assert schedules["elt"] == []
    [schedule] = schedules["job"]
    assert schedule["name"] == SCHEDULE
    assert (schedule["interval"], schedule["cron_interval"]) == ("@hourly", "0 * * * *")
    assert schedule["job"] == {"name": JOB, "tasks": ["tap-centaur target-postgres"]}
    jobs = json_output(meltano("job", "list", "--format=json"))["jobs"]
    assert jobs == [
        {"job_name": JOB, "tasks": ["tap-centaur target-postgres"]},
        *(
            {"job_name": f"centaur-shard-{n}", "tasks": [f"{shard} target-postgres"]}
            for n, shard in enumerate(SHARDS)
        ),
    ]


def readme_yaml(heading: str) -> Any:
    """The first YAML block of the README after `heading`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", readme.split(f"\n{heading}\n", 1)[-1], re.DOTALL)
    assert block, f"README.md has no YAML block under {heading!r}"
    return YAML(typ="safe", pure=True).load(block.group(1))


def test_readme_scheduling_blocks_are_what_meltano_yml_declares() -> None:
    project = YAML(typ="safe", pure=True).load((ROOT / "meltano.yml").read_text("utf-8"))
    assert readme_yaml("## Scheduling") == {
        "jobs": project["jobs"],
        "schedules": project["schedules"],
    }
    recipe = readme_yaml("### Sharding: several jobs, one warehouse")
    declared = [plugin(project, "extractors", name) for name in SHARDS]
    assert recipe == declared
    assert [p["config"] for p in declared] == [
        {"shard_count": 2, "shard_index": 0},
        {"shard_count": 2, "shard_index": 1},
    ]
