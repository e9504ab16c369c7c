"""The Singer SDK's built-in tap tests, over real HTTP to a simulator started at import.

`get_tap_test_class` builds the tap when this module is imported (SDK pitfall 11), so the
simulator must be serving by then. Two built-in tests cannot fail (pitfall 9): primary keys
and the final state are asserted again below, for real.
"""

from __future__ import annotations

import json
from collections import Counter

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from centaur_sim import SimConfig, Simulator
from tap_centaur.tap import TapCentaur
from tests.harness import API_KEY, API_PASSWORD, USERNAME, login_config

SIMULATOR = Simulator(
    SimConfig(
        api_key=API_KEY,
        username=USERNAME,
        api_password=API_PASSWORD,
        tasks=2,
        cases=(180, 45),
        page_size=50,
        seed=7,
    )
)
SIMULATOR.start()
CASE = SIMULATOR.truth(102)[5]
CONFIG = login_config(
    SIMULATOR.url,
    [101, 102],
    case_ids=[{"task_id": CASE["task_id"], "case_id": CASE["case_id"]}],
)

TestTapCentaur = get_tap_test_class(
    TapCentaur, config=CONFIG, suite_config=SuiteConfig(max_records_limit=None)
)


def _sync(capsys):
    tap = TapCentaur(config=CONFIG)
    tap.sync_all()
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_primary_keys_are_unique_and_present(capsys):
    messages = _sync(capsys)
    keys = Counter(
        (m["stream"], m["record"]["task_id"], m["record"]["case_id"])
        for m in messages
        if m["type"] == "RECORD" and m["stream"] in ("task_results", "case_results")
    )
    assert keys and max(keys.values()) == 1
    assert sum(1 for key in keys if key[0] == "task_results") == 225


def test_final_state_is_valid_and_has_no_progress_markers(capsys):
    messages = _sync(capsys)
    final = [m["value"] for m in messages if m["type"] == "STATE"][-1]
    partitions = final["bookmarks"]["task_results"]["partitions"]
    assert [p["context"] for p in partitions] == [{"task_id": 101}, {"task_id": 102}]
    assert all(p["replication_key_value"] for p in partitions)
    assert "progress_markers" not in json.dumps(final)
