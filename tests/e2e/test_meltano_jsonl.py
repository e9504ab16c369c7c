"""The demo path: `meltano run tap-centaur target-jsonl`, stream maps, `make demo`'s script."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from centaur_sim import Simulator
from tests.e2e.conftest import RUN_TIMEOUT, Meltano, assert_rows_match, read_jsonl, truth_by_key
from tests.test_docs import ROOT, readme_yaml, run

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("extractor", ["tap-centaur--no-read-stats", "tap-centaur"])
def test_stream_maps_and_labeling_states_from_the_environment(
    extractor: str, meltano: Meltano, sim: Simulator, tmp_path: Path
) -> None:
    """meltano.yml's inherited extractor drops read_stats; the README's example, given as an
    environment variable, drops it and hashes each content's origin. The labeling states come
    as a JSON list (`kind: string` hands the tap its text, which it accepts)."""
    states = ["Labeled", "Gold Standard"]
    meltano.env["TAP_CENTAUR_LABELING_STATE"] = json.dumps(states)
    hashed = extractor == "tap-centaur"
    if hashed:
        maps = readme_yaml("### Stream maps")["config"]["stream_maps"]
        meltano.env["TAP_CENTAUR_STREAM_MAPS"] = json.dumps(maps)
    meltano("run", extractor, "target-jsonl")
    truth = {k: r for k, r in truth_by_key(sim).items() if r["labeling_state"] in states}
    assert 0 < len(truth) < len(sim.truth())
    for record in truth.values():
        del record["read_stats"]
        for content in record["content_metadata"] if hashed else []:
            content["origin"] = hashlib.md5(content["origin"].encode()).hexdigest()  # noqa: S324
    assert_rows_match(read_jsonl(tmp_path / "jsonl" / "task_results.jsonl"), truth)


def test_demo_script_prints_records_per_task(meltano: Meltano, tmp_path: Path) -> None:
    out = tmp_path / "demo-output"
    command = [sys.executable, str(ROOT / "scripts" / "demo.py"), "--meltano", meltano.executable]
    command += ["--output-dir", str(out), "--tasks", "2", "--cases", "30,12"]
    env = meltano.env | {
        "TAP_CENTAUR_API_KEY": "e2e-key",
        "TAP_CENTAUR_USERNAME": "e2e@example.com",
        "TAP_CENTAUR_API_PASSWORD": "e2e-password",
    }
    completed = run(*command, env=env, timeout=RUN_TIMEOUT, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = [line.split() for line in completed.stdout.splitlines()]
    assert ["101", "30", "30"] in lines and ["102", "12", "12"] in lines, completed.stdout
    assert f"  {out / 'task_results.jsonl'}  (42 records)" in completed.stdout
    assert "Simulator stopped." in completed.stdout
    assert len(read_jsonl(out / "task_results.jsonl")) == 42
