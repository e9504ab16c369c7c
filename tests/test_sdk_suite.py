"""The Singer SDK's built-in tap tests, over real HTTP to this module's simulator.

`get_tap_test_class` builds the tap when this module is imported (SDK pitfall 11), so the
config exists by then; the simulator behind its `api_url` serves from the module fixture
below, which runs before the class-scoped sync, and stops after the module. The tap built at
import sends no request. Two built-in tests cannot fail (pitfall 9): primary keys and the
final state are asserted again below, for real.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from functools import cached_property

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from singer_sdk.testing.templates import AttributeTestTemplate

from tap_centaur.tap import TapCentaur
from tests.harness import Sim, login_config, sim_config

#: Task 103 is v2-only (v1 answers 426): every stream, the v2 ones included, has records.
SIMULATOR = Sim(
    sim_config(tasks=3, cases=(180, 45, 20), page_size=50, seed=7, unsupported_task_ids=(103,))
)
CASES = [SIMULATOR.truth(102)[5], SIMULATOR.truth(103)[2]]
#: Its api_url, a port nothing listens on, is the simulator's once it serves (`_simulator`).
CONFIG = login_config(
    "http://127.0.0.1:9",
    [101, 102, 103],
    case_ids=[{"task_id": case["task_id"], "case_id": case["case_id"]} for case in CASES],
)

TestTapCentaur = get_tap_test_class(
    TapCentaur, config=CONFIG, suite_config=SuiteConfig(max_records_limit=None)
)


@pytest.fixture(scope="module", autouse=True)
def _simulator() -> Iterator[None]:
    CONFIG["api_url"] = SIMULATOR.start()
    yield
    SIMULATOR.stop()


def test_primary_keys_are_unique_and_present_and_the_final_state_is_valid(capsys):
    TapCentaur(config=CONFIG).sync_all()
    messages = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    keys = Counter(
        (m["stream"], m["record"]["task_id"], m["record"]["case_id"])
        for m in messages
        if m["type"] == "RECORD" and m["stream"] not in ("tasks", "projects")
    )
    assert keys and max(keys.values()) == 1
    streams = Counter(stream for stream, *_ in keys)
    assert (streams["task_results"], streams["task_results_v2"]) == (225, 20)
    v2_case = (103, CASES[1]["case_id"])
    assert {key[0] for key in keys if key[1:] == v2_case} == {"task_results_v2", "case_results_v2"}
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    for stream, tasks in (("task_results", [101, 102]), ("task_results_v2", [103])):
        partitions = states[-1]["bookmarks"][stream]["partitions"]
        assert [p["context"] for p in partitions] == [{"task_id": task} for task in tasks]
        assert all(p["replication_key_value"] for p in partitions)
    # The SDK calls the tap's state overrides: neither of its own markers is in any STATE.
    assert "progress_markers" not in json.dumps(states)
    assert "starting_replication_value" not in json.dumps(states)


@pytest.fixture(autouse=True)
def _each_attribute_test_reads_its_attribute(request: pytest.FixtureRequest) -> None:
    """Each SDK attribute test checks its own attribute, where one type is to be checked.

    The SDK runs every parametrized test of a kind on one template object whose values are a
    `cached_property`: without dropping them, a process checks the attribute it ran first only
    (order-dependent: under pytest-xdist some orders failed, most passed vacuously). Every
    field has one JSON type (plus null), so each one-type test (`is_object`, ...) applies.
    """
    template = getattr(request.function, "__self__", None)
    if not isinstance(template, AttributeTestTemplate):
        return
    cached = getattr(type(template), "non_null_attribute_values", None)
    assert isinstance(cached, cached_property), "the SDK no longer caches attribute values"
    vars(template).pop("non_null_attribute_values", None)
