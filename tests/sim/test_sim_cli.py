"""`python -m centaur_sim` prints its URL, serves, and exits 0 on SIGTERM or SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

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
