"""`python -m centaur_sim` prints its URL, serves, and exits 0 on SIGTERM or SIGINT."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from centaur_sim import SimConfig
from centaur_sim.cli import build, parser

ROOT = Path(__file__).resolve().parents[2]
LIST = "/results/public/v1/list"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_until_signalled(sig: signal.Signals) -> None:
    args = [
        sys.executable,
        "-m",
        "centaur_sim",
        "--port",
        "0",
        "--tasks",
        "2",
        "--cases",
        "5,7",
        "--static-token",
        "tok",
        "--fault",
        "429:1",
        "--retry-after",
        "0",
        "--misbehaviour",
        "102=has_next_not_bool",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env) as proc:
        _exercise(proc, sig)


def _exercise(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("centaur-sim listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        headers = {"X-API-KEY": "demo-api-key", "Authorization": "Bearer tok"}

        def get(task: int) -> requests.Response:
            params = {"task_id": task, "limit": 2}
            return requests.get(url + LIST, params=params, headers=headers, timeout=5)

        assert get(101).status_code == 429
        assert len(get(101).json()["payload"]) == 2
        assert get(102).json()["has_next"] == "yes"
        truth = requests.get(url + "/_sim/truth", timeout=5).json()
        assert len(truth) == 12
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_rejects_bad_arguments() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "centaur_sim", "--tasks", "2", "--cases", "1,2,3"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=20,
    )
    assert result.returncode == 2
    assert "one entry per task" in result.stderr


def test_every_config_field_has_a_flag_and_defaults_stay_the_configs() -> None:
    args = parser().parse_args([])
    assert build(args).config == SimConfig(port=8765)  # the command line's one other default
    flags = {a.dest: a.option_strings for a in parser()._actions}
    assert {f.name for f in dataclasses.fields(SimConfig)} <= set(flags)
    assert flags["gzip"] == ["--no-gzip"]
    assert flags["unsupported_task_ids"] == ["--unsupported-task"]


def test_flags_the_scripts_use() -> None:
    """scripts/bench.py, scripts/demo.py and centaur_sim.process pass these."""
    argv = "--port 0 --tasks 2 --first-task-id 7 --cases 3,4 --page-size 50 --max-limit 2000"
    argv += " --latency-ms 12.5 --seed 9 --api-key k --username u --api-password p"
    config = build(parser().parse_args(argv.split())).config
    assert (config.port, config.tasks, config.first_task_id, config.cases) == (0, 2, 7, (3, 4))
    assert (config.page_size, config.max_limit, config.latency_ms, config.seed) == (
        50,
        2000,
        12.5,
        9,
    )
    assert (config.api_key, config.username, config.api_password) == ("k", "u", "p")


def test_derived_flags_of_each_kind() -> None:
    argv = [
        "--no-gzip",
        "--record-requests",
        "--unsupported-task", "102",
        "--unsupported-task", "103",
        "--fault-rate", "500=0.25",
        "--fault-rate", "reset=0.5",
        "--static-token", "tok",
        "--token-expiry-requests", "4",
        "--date-offset-seconds", "-30.5",
        "--last-page-style", "false",
    ]  # fmt: skip
    config = build(parser().parse_args(argv)).config
    assert (config.gzip, config.record_requests) == (False, True)
    assert config.unsupported_task_ids == (102, 103)
    assert config.fault_rates == {"500": 0.25, "reset": 0.5}
    assert (config.static_token, config.token_expiry_requests) == ("tok", 4)
    assert (config.date_offset_seconds, config.last_page_style) == (-30.5, "false")
    with pytest.raises(SystemExit):
        parser().parse_args(["--last-page-style", "sometimes"])


def test_faults_and_misbehaviours_from_the_command_line() -> None:
    args = ["--fault", "503:2:/results/", "--fault", "stall", "--misbehaviour", "101=v2_shape"]
    sim = build(parser().parse_args(args))
    script = sim.pending_faults()["script"]
    assert [(f["kind"], f["count"], f["path"]) for f in script] == [
        ("503", 2, "/results/"),
        ("stall", 1, None),
    ]
    assert sim.misbehaviours == {101: "v2_shape"}
