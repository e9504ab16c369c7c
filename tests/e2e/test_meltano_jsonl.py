"""The demo path: `meltano run tap-centaur target-jsonl`, stream maps, `make demo`'s script, and
`tap-centaur --config ENV`."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from centaur_sim import Simulator
from tests.e2e.checks import assert_written_once_as_emitted, read_jsonl, truth_by_key
from tests.e2e.conftest import ROOT, Meltano

pytestmark = pytest.mark.e2e


def test_labeling_states_as_a_json_list_from_the_environment(
    meltano: Meltano, sim: Simulator, tmp_path: Path
) -> None:
    """`kind: string` hands the tap the text of the JSON list, which it accepts."""
    states = ["Labeled", "Gold Standard"]
    meltano.env["TAP_CENTAUR_LABELING_STATE"] = json.dumps(states)
    meltano("run", "tap-centaur", "target-jsonl")
    truth = {k: r for k, r in truth_by_key(sim).items() if r["labeling_state"] in states}
    assert 0 < len(truth) < len(sim.truth())
    records = read_jsonl(tmp_path / "jsonl" / "task_results.jsonl")
    assert_written_once_as_emitted(records, truth)


def readme_stream_maps() -> dict[str, Any]:
    """The stream maps of the README's "Stream maps" example (its first YAML block)."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("### Stream maps", 1)[-1]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block, "README.md has no YAML example under '### Stream maps'"
    maps: dict[str, Any] = YAML(typ="safe", pure=True).load(block.group(1))["config"]["stream_maps"]
    return maps


@pytest.mark.parametrize("extractor", ["tap-centaur--no-read-stats", "tap-centaur"])
def test_stream_maps_of_meltano_yml_and_of_the_readme(
    extractor: str, meltano: Meltano, sim: Simulator, tmp_path: Path
) -> None:
    """meltano.yml's inherited extractor drops read_stats; the README's example, given as an
    environment variable, drops it and hashes each content's origin."""
    if extractor == "tap-centaur":
        meltano.env["TAP_CENTAUR_STREAM_MAPS"] = json.dumps(readme_stream_maps())
    meltano("run", extractor, "target-jsonl")
    records = read_jsonl(tmp_path / "jsonl" / "task_results.jsonl")
    truth = truth_by_key(sim)
    assert len(records) == len(truth)
    for record in records:
        expected = truth[(record["task_id"], record["case_id"])]
        assert "read_stats" not in record and record["counts"] == expected["counts"]
        origins = [m["origin"] for m in expected["content_metadata"]]
        if extractor == "tap-centaur":
            origins = [hashlib.md5(o.encode()).hexdigest() for o in origins]  # noqa: S324
        assert [m["origin"] for m in record["content_metadata"]] == origins


def test_demo_script_prints_records_per_task(meltano: Meltano, tmp_path: Path) -> None:
    out = tmp_path / "demo-output"
    command = [sys.executable, str(ROOT / "scripts" / "demo.py"), "--meltano", meltano.executable]
    command += ["--output-dir", str(out), "--tasks", "2", "--cases", "30,12"]
    env = meltano.env | {
        "TAP_CENTAUR_API_KEY": "e2e-key",
        "TAP_CENTAUR_USERNAME": "e2e@example.com",
        "TAP_CENTAUR_API_PASSWORD": "e2e-password",
    }
    completed = subprocess.run(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = [line.split() for line in completed.stdout.splitlines()]
    assert ["101", "30", "30"] in lines and ["102", "12", "12"] in lines, completed.stdout
    assert f"  {out / 'task_results.jsonl'}  (42 records)" in completed.stdout
    assert "Simulator stopped." in completed.stdout
    assert len(read_jsonl(out / "task_results.jsonl")) == 42


def test_config_env_reads_tap_centaur_variables(meltano: Meltano, sim: Simulator) -> None:
    """`tap-centaur --config ENV`, no Meltano: every setting from TAP_CENTAUR_* variables."""
    env = meltano.env | {"TAP_CENTAUR_TASK_IDS": "[102]", "TAP_CENTAUR_PAGE_SIZE": "25"}
    completed = subprocess.run(
        [sys.executable, "-m", "tap_centaur", "--config", "ENV"], cwd=ROOT, env=env,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    messages = [json.loads(line) for line in completed.stdout.splitlines()]
    records = [m for m in messages if m["type"] == "RECORD" and m["stream"] == "task_results"]
    cases = [m["record"]["case_id"] for m in records]
    assert sorted(cases) == sorted(r["case_id"] for r in sim.truth(102))
    assert sim.stats()["requests"]["/results/public/v1/list"]["200"] == 3  # 75 cases / 25
    for secret in (sim.config.api_key, sim.config.api_password):
        assert secret not in completed.stdout + completed.stderr
