"""Settings from environment variables, through Meltano, in the forms the README shows.

The extractor's setting kinds (scripts/plugin_definition.py) decide what Meltano hands the tap:
`kind: string` passes a value as it is, `integer` casts it, `array` parses JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from centaur_sim import Simulator
from tests.e2e.conftest import Meltano


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


pytestmark = pytest.mark.e2e


#: The known tap bug behind a failure of the test below (see its docstring).
KNOWN_BUG = "'str' object has no attribute 'get'"


def test_labeling_states_as_a_json_list_from_the_environment(
    meltano: Meltano, sim: Simulator, tmp_path: Path
) -> None:
    """`kind: string` hands the tap the text of the JSON list, which it must accept.

    Today the SDK's config validation crashes on it (the bare "null" inside the anyOf of the
    settings schema): the test is then an expected failure, for that cause only. Once the
    schema (tap_centaur/settings.py) accepts the text, it passes.
    """
    states = ["Labeled", "Gold Standard"]
    meltano.env["TAP_CENTAUR_LABELING_STATE"] = json.dumps(states)
    result = meltano("run", "tap-centaur", "target-jsonl", check=False)
    if result.returncode != 0 and KNOWN_BUG in result.output:
        pytest.xfail(
            f"tap bug: labeling_state as a JSON list fails the SDK's validation ({KNOWN_BUG})"
        )
    assert result.returncode == 0, result.output[-3000:]
    records = read_jsonl(tmp_path / "jsonl" / "task_results.jsonl")
    expected = {(r["task_id"], r["case_id"]) for r in sim.truth() if r["labeling_state"] in states}
    assert {(r["task_id"], r["case_id"]) for r in records} == expected
