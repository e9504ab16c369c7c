"""`tap-centaur --config ENV`: every setting from TAP_CENTAUR_* environment variables."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from centaur_sim import Simulator
from tests.e2e.conftest import ROOT, clean_env

pytestmark = pytest.mark.e2e


def test_config_env_reads_tap_centaur_variables(sim: Simulator) -> None:
    env = clean_env()
    env.update(
        {
            "TAP_CENTAUR_API_URL": sim.url,
            "TAP_CENTAUR_API_KEY": sim.config.api_key,
            "TAP_CENTAUR_USERNAME": sim.config.username,
            "TAP_CENTAUR_API_PASSWORD": sim.config.api_password,
            "TAP_CENTAUR_TASK_IDS": "[102]",
            "TAP_CENTAUR_PAGE_SIZE": "25",
        }
    )
    completed = subprocess.run(
        [sys.executable, "-m", "tap_centaur", "--config", "ENV"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    messages = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    records = [
        m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "task_results"
    ]
    assert sorted(r["case_id"] for r in records) == sorted(r["case_id"] for r in sim.truth(102))
    assert sim.stats()["requests"]["/results/public/v1/list"]["200"] == 3  # 75 cases / 25
    output = completed.stdout + completed.stderr
    for secret in (sim.config.api_key, sim.config.api_password):
        assert secret not in output
