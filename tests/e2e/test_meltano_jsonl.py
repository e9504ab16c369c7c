"""The demo path: `meltano run tap-centaur target-jsonl`, and `make demo`'s script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from centaur_sim import Simulator
from tests.e2e.checks import truth_by_key
from tests.e2e.conftest import ROOT, Meltano

pytestmark = pytest.mark.e2e


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_target_jsonl_writes_exactly_the_simulators_cases(
    meltano: Meltano, sim: Simulator, tmp_path: Path
) -> None:
    meltano("run", "tap-centaur", "target-jsonl")
    records = read_jsonl(tmp_path / "jsonl" / "task_results.jsonl")
    keys = [(r["task_id"], r["case_id"]) for r in records]
    assert len(keys) == len(set(keys)), "a case was written twice"
    truth = truth_by_key(sim)  # labels in the field of their shape, as the tap emits them
    assert set(keys) == set(truth)
    for record in records:
        expected = truth[(record["task_id"], record["case_id"])]
        documented = {k: v for k, v in record.items() if k != "undocumented_fields"}
        assert documented == expected


def test_stream_map_from_meltano_yml_drops_read_stats(
    meltano: Meltano, sim: Simulator, tmp_path: Path
) -> None:
    meltano("run", "tap-centaur--no-read-stats", "target-jsonl")
    records = read_jsonl(tmp_path / "jsonl" / "task_results.jsonl")
    assert len(records) == len(sim.truth())
    assert all("read_stats" not in r and "counts" in r for r in records)


def test_demo_script_prints_records_per_task(meltano: Meltano, tmp_path: Path) -> None:
    out = tmp_path / "demo-output"
    env = dict(meltano.env)
    env.update(
        {
            "TAP_CENTAUR_API_KEY": "e2e-key",
            "TAP_CENTAUR_USERNAME": "e2e@example.com",
            "TAP_CENTAUR_API_PASSWORD": "e2e-password",
        }
    )
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "demo.py"),
            "--meltano",
            meltano.executable,
            "--output-dir",
            str(out),
            "--tasks",
            "2",
            "--cases",
            "30,12",
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    assert any(line.split() == ["101", "30", "30"] for line in lines), completed.stdout
    assert any(line.split() == ["102", "12", "12"] for line in lines), completed.stdout
    assert f"  {out / 'task_results.jsonl'}  (42 records)" in completed.stdout
    assert "Simulator stopped." in completed.stdout
    assert len(read_jsonl(out / "task_results.jsonl")) == 42


def test_meltano_yml_is_valid_for_the_meltano_that_runs_it(meltano: Meltano) -> None:
    venv = Path(meltano.executable).resolve().parent.parent
    schemas = sorted(venv.glob("lib/python3*/site-packages/meltano/schemas/meltano.schema.json"))
    assert schemas, f"no meltano.schema.json under {venv}"
    completed = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(schemas[0]), "meltano.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
