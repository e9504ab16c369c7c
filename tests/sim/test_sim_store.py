"""`new_store`: a simulator's data is generated once per seed and layout, then copied."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from centaur_sim.config import SimConfig
from centaur_sim.store import GENERATED_FROM, CaseStore, new_store

#: The counters a store takes its next ids from (`_next_seq`, ...).
NEXT_IDS = ("seq", "case_id", "content_id", "task_seq", "project_seq")
CONFIG = SimConfig(tasks=3, cases=(40, 25, 0), seed=7, unsupported_task_ids=(103,))


def _contents(store: CaseStore) -> list[Any]:
    """Everything a store serves and will generate next (its generators' states included)."""
    return [
        [
            (
                t.info,
                t.seq,
                t.created_s,
                t.unsupported,
                t.v2_notes,
                [(c.case_id, c.seq, c.updated_us, c.body) for c in t.cases],
            )
            for t in store.task_rows
        ],
        [(p.project_id, p.seq, p.task_ids) for p in store.project_rows],
        store.rng.getstate(),
        store._catalog_rng.getstate(),  # the next task's generated fields
        [getattr(store, f"_next_{name}") for name in NEXT_IDS],
    ]


def test_a_new_store_is_the_generated_one_and_a_copy_of_its_own() -> None:
    first = new_store(CONFIG)
    assert _contents(first) == _contents(CaseStore(CONFIG))

    first.append(first.task(101), None, 1, random.Random(1))  # noqa: S311 - simulated data
    first.task(102).cases[0].replace({"labeling_state": "changed"}, 2)
    first.add_task(count=3)

    second = new_store(CONFIG)
    assert _contents(second) == _contents(CaseStore(CONFIG))
    assert _contents(second) != _contents(first)
    assert second.task(101).cases[0] is not first.task(101).cases[0]


def test_another_seed_or_layout_is_generated_anew() -> None:
    for change in ({"seed": 8}, {"cases": (40, 26, 0)}, {"first_sequence_id": 5}):
        other = dataclasses.replace(CONFIG, **change)
        assert _contents(new_store(other)) == _contents(CaseStore(other))
        assert _contents(new_store(other)) != _contents(new_store(CONFIG)), change


class _Reads:
    """A config that records the fields read from it, by its methods too."""

    def __init__(self, config: SimConfig) -> None:
        self._config = config
        self.names: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(type(self._config), name, None)
        if callable(attribute):  # a method: run it on this proxy, to see what it reads
            return attribute.__get__(self)
        self.names.add(name)
        return getattr(self._config, name)


def test_the_store_is_generated_from_exactly_the_settings_it_is_kept_by() -> None:
    """A setting read but not in GENERATED_FROM would hand simulators another config's data."""
    read: set[str] = set()
    for config in (CONFIG, dataclasses.replace(CONFIG, cases=30)):  # `tasks` counts with an int
        reads = _Reads(config)
        CaseStore(reads)  # type: ignore[arg-type]
        assert reads.names <= set(GENERATED_FROM)
        read |= reads.names
    assert read == set(GENERATED_FROM)
