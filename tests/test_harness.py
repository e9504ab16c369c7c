"""The harness runs the tap as the command runs it: in-process (leaving the process as it was),
forked from the fork server, or in a fresh interpreter."""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import signal
import sys
import warnings

import pytest

from tap_centaur import redaction
from tap_centaur.signals import SIGNALS
from tests.harness import SABOTAGE_ENV, THREE_TASKS, Run, Stop, login_config, process
from tests.harness import forked as forked_runs

subprocess_only = pytest.mark.skipif(
    bool(os.environ.get(SABOTAGE_ENV)), reason="under a sabotage every run is a subprocess"
)


def comparable(run: Run) -> tuple[object, ...]:
    """What two runs of the same config print alike: messages up to times, the error lines."""
    messages = []
    for message in run.messages:
        shown = {k: v for k, v in message.items() if k != "time_extracted"}
        if message["type"] == "STATE":
            shown["value"] = re.sub(r'"replication_key_value": "[^"]+"', "T", json.dumps(message))
        messages.append(shown)
    errors = [line.split("| ERROR", 1)[1] for line in run.error_lines]
    return run.exit_code, messages, errors


@subprocess_only
@pytest.mark.parametrize(
    ("overrides", "exit_code"),
    [({}, 0), ({"task_ids": [101, 999]}, 1), ({"page_size": 0}, 2)],
    ids=["synced", "failed", "bad-config"],
)
def test_an_in_process_run_prints_what_the_command_prints(sim, tap, overrides, exit_code):
    config = {**login_config(sim.url, [101, 102], max_parallel_tasks=1), **overrides}
    in_process = tap.run(config)
    command = tap.run(config, in_subprocess=True)
    assert in_process.in_process
    assert not command.in_process
    assert in_process.exit_code == exit_code
    assert comparable(in_process) == comparable(command)


def process_state() -> dict[str, object]:
    root = logging.getLogger()
    return {
        "streams": (sys.stdout, sys.stderr, sys.excepthook),
        "environment": dict(os.environ),
        "root logger": (root.level, list(root.handlers)),
        "metrics logger": logging.getLogger("singer_sdk.metrics").level,
        "signal handlers": [signal.getsignal(s) for s in SIGNALS],
        "warning filters": list(warnings.filters),
        "atexit.register": atexit.register,
        "masked secrets": set(redaction._secrets),
    }


@subprocess_only
def test_an_in_process_run_leaves_the_process_as_it_was(sim, tap, monkeypatch):
    monkeypatch.setattr(redaction, "_secrets", {"a-secret-of-an-earlier-run"})
    before = process_state()
    tap.run(login_config(sim.url, [102]), log_level="DEBUG")
    tap.run(login_config(sim.url, [999]), log_level="DEBUG", config_in_env=True)  # an error
    assert process_state() == before


@subprocess_only
def test_the_test_processs_settings_variables_do_not_reach_an_in_process_run(sim, tap, monkeypatch):
    monkeypatch.setenv("TAP_CENTAUR_START_DATE", "2999-01-01")
    run = tap.run(login_config(sim.url, [102]), config_in_env=True)
    assert run.exit_code == 0, run.stderr
    assert len(run.keys) == 120
    assert os.environ["TAP_CENTAUR_START_DATE"] == "2999-01-01"


@subprocess_only
@pytest.mark.parametrize(
    ("overrides", "exit_code"),
    [({}, 0), ({"task_ids": [101, 999]}, 1), ({"page_size": 0}, 2)],
    ids=["synced", "failed", "bad-config"],
)
def test_a_forked_run_prints_what_a_fresh_interpreter_prints(
    sim, tap, monkeypatch, overrides, exit_code
):
    config = {**login_config(sim.url, [101, 102], max_parallel_tasks=1), **overrides}
    forked = tap.run(config, in_subprocess=True)
    monkeypatch.setenv(forked_runs.SWITCH, "0")
    fresh = tap.run(config, in_subprocess=True)
    assert forked.forked
    assert not fresh.forked
    assert forked.exit_code == exit_code
    assert comparable(forked) == comparable(fresh)


@subprocess_only
@pytest.mark.parametrize(
    ("sig", "exit_code"),
    [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["SIGTERM", "SIGINT", "SIGKILL"],
)
def test_a_forked_run_ends_by_a_signal_as_a_fresh_interpreter_does(
    make_sim, tap, monkeypatch, sig, exit_code
):
    sim = make_sim(**THREE_TASKS, latency_ms=20)  # the run is far from its end at its first record
    config = login_config(sim.url, [101, 102], max_parallel_tasks=1)
    stop = Stop(sig, after_text=b'"stream":"task_results"')
    forked = tap.run(config, stop=stop)
    monkeypatch.setenv(forked_runs.SWITCH, "0")
    fresh = tap.run(config, stop=stop)
    assert forked.forked
    assert not fresh.forked
    for run in (forked, fresh):
        assert run.stopped
        assert run.exit_code == exit_code, run.stderr[-2000:]
        assert "Traceback" not in run.stderr
    if sig != signal.SIGKILL:  # the tap's own handler ends with the state so far
        assert forked.messages[-1]["type"] == fresh.messages[-1]["type"] == "STATE"


@subprocess_only
def test_a_forked_run_has_the_environment_of_its_run_only(sim, tap, monkeypatch):
    """Not the one its server started with: a proxy set then (nothing listens there) is gone."""
    server = forked_runs.ForkServer()
    monkeypatch.setattr(process, "SERVER", server)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    server.ready()
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.setenv("TAP_CENTAUR_START_DATE", "2999-01-01")  # nor the test process's settings
    try:
        run = tap.run(login_config(sim.url, [102]), config_in_env=True, in_subprocess=True)
    finally:
        server.close()
    assert run.forked
    assert run.exit_code == 0, run.stderr[-2000:]
    assert len(run.keys) == 120


@subprocess_only
def test_a_run_with_python_variables_of_its_own_starts_a_fresh_interpreter(sim, tap):
    run = tap.run(login_config(sim.url, [102]), in_subprocess=True, env={"PYTHONHASHSEED": "7"})
    assert not run.forked
    assert run.exit_code == 0, run.stderr
    assert len(run.keys) == 120


@subprocess_only
def test_a_run_abandoned_mid_way_is_killed_and_the_next_one_is_forked(sim, tap, monkeypatch):
    def failing_check(*_args):
        raise RuntimeError("a check failed mid-run")

    with monkeypatch.context() as patch:
        patch.setattr(process, "_send", failing_check)
        with pytest.raises(RuntimeError, match="mid-run"):
            tap.run(login_config(sim.url, [101]), stop=Stop(signal.SIGTERM, after_bytes=1))
    run = tap.run(login_config(sim.url, [102]), in_subprocess=True)
    assert run.forked
    assert run.exit_code == 0, run.stderr[-2000:]
    assert len(run.keys) == 120
