"""Faults that last for one task, and a catalog of 10,000 tasks."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from centaur_sim import FAULT_KINDS, SCRIPTED_KINDS, Simulator
from centaur_sim.config import SIZED_KINDS
from tests.harness import LIST, STATIC_TOKEN, SimFactory
from tests.sim.helpers import Walk, auth_headers

HEADERS = auth_headers(STATIC_TOKEN)
FOREVER = 1_000_000
#: Kinds whose answer is a 200 (the fault counter tells them apart).
LOOK_FINE = (
    *("future_date", "no_date", "html200", "empty200", "bad_utf8", "empty_page", *SIZED_KINDS),
    *("nan", "huge_number", "bom", "date_9999"),
)
#: Kinds that answer slowly (a delay, a dripping body): the client gives up on them after 0.2 s.
SLOW = ("timeout", "stall")


def _attempt(
    sim: Simulator, task_id: int, read_timeout: float
) -> requests.Response | requests.RequestException:
    params = {"task_id": task_id}
    timeout = (5, read_timeout)
    try:
        r = requests.get(
            sim.url + LIST, params=params, headers=HEADERS, timeout=timeout, allow_redirects=False
        )
        r.content  # noqa: B018 - reads the body (a stall or truncation fails here)
    except requests.RequestException as error:
        return error
    return r


def _faults_once_counted(sim: Simulator, kind: str, count: int) -> dict[str, Any]:
    """The fault counters once the simulator counted `count` of `kind` (or after 10 s).

    A client that gave up after 0.2 s may have done so before the simulator read its request.
    """
    deadline = time.monotonic() + 10
    while sim.stats()["faults"].get(kind, 0) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    faults: dict[str, Any] = sim.stats()["faults"]
    return faults


@pytest.mark.parametrize("kind", FAULT_KINDS + SCRIPTED_KINDS)
def test_a_task_specific_fault_persists_and_spares_other_tasks(
    make_sim: SimFactory, kind: str
) -> None:
    sim = make_sim(tasks=3, cases=30, spike_seconds=1, stall_byte_seconds=1, retry_after=0)
    size = {"size": 1000} if kind in SIZED_KINDS else {}
    sim.script_faults([{"kind": kind, "count": FOREVER, "task_id": 102, **size}])
    for attempt in range(1, 4):
        outcome = _attempt(sim, 102, read_timeout=0.2 if kind in SLOW else 5)
        failed = isinstance(outcome, Exception) or outcome.status_code != 200
        assert failed or kind in LOOK_FINE, outcome
        assert _faults_once_counted(sim, kind, attempt) == {kind: attempt}
        fine = _attempt(sim, 101, read_timeout=5)
        assert isinstance(fine, requests.Response), fine
        assert fine.status_code == 200
        assert fine.json()["payload"] == sim.truth(101)
    [pending] = sim.pending_faults()["script"]
    assert (pending["kind"], pending["count"]) == (kind, FOREVER - 3)


def test_ten_thousand_tasks(make_sim: SimFactory, walk: Walk) -> None:
    sim = make_sim(tasks=10_000, cases=1)
    s = requests.Session()
    s.headers.update(HEADERS)
    tasks, pages = walk(s, sim.url, path="/tasks/public/v1/list", limit=1000)
    assert [t["task_id"] for t in tasks] == list(range(101, 10_101))
    assert len(pages) == 10
    projects, _ = walk(s, sim.url, path="/projects/public/v1/list", limit=1000)
    assert len(projects) == 5000
    one, _ = walk(s, sim.url, path="/tasks/public/v1/list", project_id=11_999)
    assert [t["task_id"] for t in one] == [10_099, 10_100]
    assert len(sim.truth()) == 10_000
