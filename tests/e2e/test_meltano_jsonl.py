"""`meltano run tap-centaur target-jsonl` with stream maps and settings from the environment.
(`make demo`, which .ci/run runs, checks its own output against the simulator's counts.)"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from centaur_sim import Simulator
from tests.e2e.conftest import Meltano, assert_rows_match, read_jsonl, truth_by_key
from tests.test_docs import readme_yaml

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("extractor", ["tap-centaur--no-read-stats", "tap-centaur"])
def test_stream_maps_and_labeling_states_from_the_environment(
    extractor: str, meltano: Meltano, sim: Simulator, tmp_path: Path
) -> None:
    """meltano.yml's inherited extractor drops read_stats; the README's example (a variable)
    also hashes each origin. Labeling states as a JSON list (`kind: string` passes the text)."""
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
