"""Scenario 1, fault soak: every transient fault kind at 4% (seeded), tokens expiring every 25
requests, one 401 per task, three failing logins (~40% of requests fail): nothing is lost.
401 and 403 are not drawn at random (wrong credentials and final: scenario 5)."""

from __future__ import annotations

from collections import Counter

from centaur_sim import FAULT_KINDS
from tests.harness import LIST, LOGIN, login_config, partition_bookmarks

#: Every fault the simulator has, except the auth ones (401 expires a token, 403 is final).
RANDOM_KINDS = tuple(kind for kind in FAULT_KINDS if kind not in ("401", "403"))
RATE = 0.04
TASKS = (101, 102, 103)
CASES = 2000


def test_fault_soak_loses_nothing_and_repeats_nothing(make_sim, tap, figures):
    sim = make_sim(tasks=3, cases=CASES, page_size=20, spike_seconds=1.0, token_expiry_requests=25)
    sim.set_fault_rates(dict.fromkeys(RANDOM_KINDS, RATE), seed=20240605)
    logins = [{"kind": kind, "path": LOGIN} for kind in ("503", "429", "reset")]
    sim.script_faults([*logins, *({"kind": "401", "path": LIST, "task_id": t} for t in TASKS)])
    config = login_config(
        sim.url, TASKS, page_size=20, max_retries=15, backoff_factor=0.001, request_timeout=0.4
    )

    run = tap.run(config, log_level="DEBUG", timeout=240)

    assert run.exit_code == 0, run.stderr[-3000:]
    truth = sim.truth_by_key()
    repeated = sorted(key for key, n in Counter(run.keys).items() if n > 1)
    missing = sorted(truth.keys() - set(run.keys))
    assert not missing, f"{len(missing)} cases lost, e.g. {missing[:5]}"
    assert not repeated, f"{len(repeated)} cases emitted twice, e.g. {repeated[:5]}"
    wrong = [r["case_id"] for r in run.records if r != truth.get((r["task_id"], r["case_id"]))]
    assert not wrong, f"{len(wrong)} records differ from the simulator's, e.g. {wrong[:5]}"
    assert {task for task, _ in partition_bookmarks(run.final_state)} == set(TASKS)

    stats = sim.stats()
    faults = stats["faults"]
    # Every kind really happened, and faults were at least 10% of the requests.
    for kind in RANDOM_KINDS:
        assert faults.get(kind, 0) >= 5, f"only {faults.get(kind, 0)} faults of kind {kind}"
    assert faults.get("401", 0) == len(TASKS) and stats["tokens_expired"] >= 5
    injected = sum(faults.values()) + stats["tokens_expired"]
    assert injected / stats["total_requests"] >= 0.10
    # Each transient fault costs one retry; each 401 costs a login instead.
    assert run.retries >= sum(faults.get(kind, 0) for kind in RANDOM_KINDS)

    figures.update(
        list_requests=sum(stats["requests"][LIST].values()),
        total_requests=stats["total_requests"],
        faults_by_kind=dict(sorted(faults.items())),
        tokens_expired=stats["tokens_expired"],
        logins=stats["logins"],
        fault_share=round(injected / stats["total_requests"], 3),
        retries_logged=run.retries,
    )
