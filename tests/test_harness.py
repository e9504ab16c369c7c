"""The harness runs the tap as the command runs it: in-process (leaving the process as it was)
or as a process of its own."""

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
from tap_centaur.output import SIGNALS
from tests.harness import SABOTAGE_ENV, Run, login_config

subprocess_only = pytest.mark.skipif(
    bool(os.environ.get(SABOTAGE_ENV)), reason="under a sabotage every run is a subprocess"
)


def comparable(run: Run) -> tuple[object, ...]:
    """What two runs of one config print alike: messages but times, the error lines."""
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
    [({"task_ids": [101, 999]}, 1), ({"page_size": 0}, 2)],
    ids=["synced-and-failed", "bad-config"],
)
def test_an_in_process_run_prints_what_the_command_prints(make_sim, tap, overrides, exit_code):
    sim = make_sim(tasks=1, cases=30, page_size=10)
    config = {**login_config(sim.url, [101], max_parallel_tasks=1), **overrides}
    in_process = tap.run(config)
    command = tap.run(config, in_subprocess=True)
    assert (in_process.in_process, command.in_process) == (True, False)
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
def test_an_in_process_run_leaves_the_process_as_it_was_and_gets_none_of_its_settings(
    sim, tap, monkeypatch
):
    monkeypatch.setattr(redaction, "_secrets", {"a-secret-of-an-earlier-run"})
    monkeypatch.setenv("TAP_CENTAUR_START_DATE", "2999-01-01")
    before = process_state()
    run = tap.run(login_config(sim.url, [102]), log_level="DEBUG", config_in_env=True)
    assert len(run.keys) == 120  # not limited by the test process's start_date
    tap.run(login_config(sim.url, [999]), log_level="DEBUG")  # an error
    assert process_state() == before
