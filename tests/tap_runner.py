"""Run the real `tap-centaur` command against the simulator and read its Singer output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

API_KEY = "sim-api-key-7f3c9a"
USERNAME = "robot@example.com"
API_PASSWORD = "sim-api-password-b81d44"
STATIC_TOKEN = "sim-static-token-5e02cc"
SECRETS = (API_KEY, API_PASSWORD, STATIC_TOKEN)


@dataclass
class TapRun:
    """What one run of the tap printed."""

    exit_code: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD"]

    def records_of(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, Any] | None:
        states = self.states
        return states[-1] if states else None

    @property
    def keys(self) -> list[tuple[int, int]]:
        return [(r["task_id"], r["case_id"]) for r in self.records_of("task_results")]

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "| ERROR" in line]


def login_config(api_url: str, task_ids: list[int], **extra: Any) -> dict[str, Any]:
    """A config that logs in with username + API password."""
    return {
        "api_key": API_KEY,
        "username": USERNAME,
        "api_password": API_PASSWORD,
        "api_url": api_url,
        "task_ids": task_ids,
        "backoff_factor": 0.01,
        **extra,
    }


def run_tap(
    tmp_path: Path,
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    *,
    log_level: str = "INFO",
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    timeout: float = 120,
) -> TapRun:
    """Run `python -m tap_centaur` in a subprocess, as Meltano would."""
    run_dir = tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}"
    run_dir.mkdir()
    config_path = run_dir / "config.json"
    config_path.write_text(json.dumps(config))
    command = [sys.executable, "-m", "tap_centaur", "--config", str(config_path), *args]
    if state is not None:
        state_path = run_dir / "state.json"
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    process_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TAP_CENTAUR_")},
        "TAP_CENTAUR_LOGLEVEL": log_level,
        **(env or {}),
    }
    completed = subprocess.run(
        command, capture_output=True, text=True, env=process_env, timeout=timeout, check=False
    )
    messages = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    return TapRun(completed.returncode, completed.stdout, completed.stderr, messages)


def partition_bookmarks(state: dict[str, Any] | None) -> dict[tuple[int, str | None], str]:
    """{(task_id, labeling_state or None): bookmark} of the partitions that have one."""
    if not state:
        return {}
    stream = state.get("bookmarks", {}).get("task_results", {})
    return {
        (p["context"]["task_id"], p["context"].get("labeling_state")): p["replication_key_value"]
        for p in stream.get("partitions", [])
        if p.get("replication_key_value")
    }


def premature_bookmarks(run: TapRun, expected: Mapping[int, set[tuple[int, int]]]) -> list[str]:
    """STATE messages that bookmark a task before every one of its `expected` records.

    For runs that start without state and sync one partition per task (no `labeling_state`):
    a bookmark is only safe once the task is fully read.
    """
    emitted: dict[int, set[tuple[int, int]]] = defaultdict(set)
    problems = []
    for number, message in enumerate(run.messages):
        if message["type"] == "RECORD" and message["stream"] == "task_results":
            record = message["record"]
            emitted[record["task_id"]].add((record["task_id"], record["case_id"]))
        elif message["type"] == "STATE":
            for task, _labeling_state in partition_bookmarks(message["value"]):
                missing = expected.get(task, set()) - emitted[task]
                if missing:
                    problems.append(
                        f"message {number}: task {task} bookmarked, {len(missing)} records unsent"
                    )
    return problems
