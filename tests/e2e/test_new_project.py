"""The README's "In your Meltano project" block, run by bash as written in a new project outside
this repository, with the real Meltano and the simulator. Replaced (each checked to be there):
the clone's path, the placeholder credentials and task ids, and the Hub lookup of target-jsonl
(no network here: this repository's definition of it). Some settings come from the environment.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest

from centaur_sim import Simulator
from tests.e2e.conftest import RUN_TIMEOUT, assert_rows_match, clean_env, read_jsonl, truth_by_key
from tests.test_docs import ROOT, load_yaml, readme_block, run

pytestmark = pytest.mark.e2e

HUB_ONLY = {"domain_url", "keywords", "maintenance_status", "quality"}


def test_readme_block_in_a_new_meltano_project(
    meltano_bin: str, sim: Simulator, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    assert ROOT not in work.resolve().parents
    config = sim.config
    # This repository's target-jsonl, as a --from-ref file (what the Hub would give).
    loaders = {p["name"]: p for p in load_yaml(ROOT / "meltano.yml")["plugins"]["loaders"]}
    jsonl = {k: v for k, v in loaders["target-jsonl"].items() if k != "config"}
    (tmp_path / "target-jsonl.yml").write_text(json.dumps(jsonl), encoding="utf-8")
    script = readme_block("### In your Meltano project", "bash")
    for old, new in (
        ("CLONE=~/src/tap-centaur", f"CLONE={shlex.quote(str(ROOT))}"),
        ("'<your API key>'", shlex.quote(config.api_key)),
        ("'<your API password>'", shlex.quote(config.api_password)),
        ("'<your portal email>'", shlex.quote(config.username)),
        ("'[1234, 5678]'", shlex.quote(json.dumps(sim.task_ids()))),
        (
            "meltano add --plugin-type loader target-jsonl\n",
            f"meltano add --plugin-type loader target-jsonl --from-ref "
            f"{shlex.quote(str(tmp_path / 'target-jsonl.yml'))}\n",
        ),
    ):
        assert old in script, f"the README's block no longer has {old!r}"
        script = script.replace(old, new)
    found = re.search(r"^export TAP_CENTAUR_LABELING_STATE=(\S+)", script, re.MULTILINE)
    assert found, "the README's block sets no labeling state"
    [state] = shlex.split(found.group(1))

    env = clean_env()
    env.pop("MELTANO_ENVIRONMENT")  # the new project's default environment applies
    env["PATH"] = f"{Path(meltano_bin).parent}{os.pathsep}{env.get('PATH', '')}"
    # Other settings from the environment: the simulator, a number, a date.
    env |= {"TAP_CENTAUR_API_URL": sim.url, "TAP_CENTAUR_REQUEST_TIMEOUT": "30.5"}
    env |= {"TAP_CENTAUR_START_DATE": "2000-01-01", "TAP_CENTAUR_PAGE_SIZE": "40"}
    script = "set -euo pipefail\n" + script
    completed = run("bash", "-c", script, cwd=work, env=env, timeout=RUN_TIMEOUT, check=False)
    log = completed.stdout + completed.stderr
    (tmp_path / "readme-block.log").write_text(f"{script}\n---\n{log}", encoding="utf-8")
    assert completed.returncode == 0, "\n".join(log.splitlines()[-40:])

    project = work / "centaur-project"
    meltano_yml = (project / "meltano.yml").read_text(encoding="utf-8")
    plugins = load_yaml(project / "meltano.yml")["plugins"]
    assert set(plugins) == {"extractors", "loaders"}, plugins.keys()  # no utility tap-centaur
    [extractor] = plugins["extractors"]

    # The project holds the Hub definition, installed from the clone, with the username set.
    hub = load_yaml(ROOT / "hub" / "tap-centaur.yml")
    assert extractor.pop("pip_url") == str(ROOT)
    assert extractor.pop("config") == {"username": config.username}
    assert extractor == {k: v for k, v in hub.items() if k not in HUB_ONLY | {"pip_url"}}

    # The secrets went to .env, and nowhere in meltano.yml.
    dotenv = (project / ".env").read_text(encoding="utf-8")
    assert f"TAP_CENTAUR_API_KEY='{config.api_key}'" in dotenv
    assert f"TAP_CENTAUR_API_PASSWORD='{config.api_password}'" in dotenv
    assert not [s for s in (config.api_key, config.api_password) if s in meltano_yml + log]

    # The JSONL is the simulator's truth, for the README's labeling states.
    truth = {k: r for k, r in truth_by_key(sim).items() if r["labeling_state"] == state}
    assert 0 < len(truth) < len(sim.truth())
    assert_rows_match(read_jsonl(project / "output" / "task_results.jsonl"), truth)
    tasks = (project / "output" / "tasks.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(task)["task_id"] for task in tasks) == sim.task_ids()

    # The installed package carries the license.
    venv = project / ".meltano/extractors/tap-centaur/venv/lib"
    [license_file] = venv.glob("python3*/site-packages/tap_centaur-*.dist-info/licenses/LICENSE")
    assert license_file.read_text(encoding="utf-8") == (ROOT / "LICENSE").read_text()
