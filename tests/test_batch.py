"""The README's BATCH example works: records go to gzipped JSONL files announced by BATCH."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from urllib.parse import urlsplit

from tap_centaur.engine import ResultsSync
from tap_centaur.tap import TapCentaur
from tests.harness import login_config, partition_bookmarks
from tests.test_docs import readme_yaml


def readme_batch_config(tmp_path, **changes):
    batch_config = readme_yaml("### BATCH messages")["config"]["batch_config"]
    batch_config["storage"]["root"] = f"file://{tmp_path / 'batches'}"
    return {**batch_config, **changes}


def batched_keys(messages, stream="task_results"):
    """(task_id, case_id) of the records in the gzipped JSONL files `stream`'s BATCHes name."""
    keys = set()
    for message in messages:
        if message["type"] == "BATCH" and message["stream"] == stream:
            assert message["encoding"] == {"format": "jsonl", "compression": "gzip"}
            for url in message["manifest"]:
                assert Path(urlsplit(url).path).name.startswith("centaur-")
                with gzip.open(Path(urlsplit(url).path), "rt") as lines:
                    keys |= {(r["task_id"], r["case_id"]) for r in map(json.loads, lines)}
    return keys


def test_readme_batch_config_writes_batch_files_and_no_bookmark_precedes_its_records(
    make_sim, tmp_path, tap
):
    sim = make_sim(tasks=3, cases=(30, 700, 40), page_size=100)
    batch_config = readme_batch_config(tmp_path, batch_size=250)
    run = tap.run(login_config(sim.url, [101, 102, 103], batch_config=batch_config))
    assert run.exit_code == 0, run.stderr
    assert run.records_of("task_results") == []
    for number, message in enumerate(run.messages):
        if message["type"] == "STATE":
            delivered = batched_keys(run.messages[:number])
            for task, _ in partition_bookmarks(message["value"]):
                assert sim.keys(task) <= delivered
    assert batched_keys(run.messages) == sim.keys()


def test_with_batches_a_signal_never_writes_a_bookmark_whose_records_are_unsent(
    make_sim, tmp_path, capsys, monkeypatch
):
    """The STATE a SIGTERM writes is the live state: in BATCH mode it must not yet hold the
    bookmark of a partition whose last records sit in a batch file not yet announced."""
    sim = make_sim(tasks=3, cases=(30, 70, 40), page_size=25)
    batch_config = readme_batch_config(tmp_path, batch_size=10_000)  # one, after the last task
    tap = TapCentaur(config=login_config(sim.url, [101, 102, 103], batch_config=batch_config))
    live_bookmarks: list[dict[tuple[int, str | None], str]] = []
    complete = ResultsSync._complete

    def complete_and_look(self, partition):
        complete(self, partition)
        live_bookmarks.append(partition_bookmarks(dict(tap.state)))  # what a SIGTERM writes

    monkeypatch.setattr(ResultsSync, "_complete", complete_and_look)
    tap.sync_all()
    output = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert live_bookmarks == [{}, {}, {}]  # no batch was announced yet
    final = [m["value"] for m in output if m["type"] == "STATE"][-1]
    assert set(partition_bookmarks(final)) == {(101, None), (102, None), (103, None)}


def test_with_batches_a_failed_task_still_lets_the_others_out_in_batches(make_sim, tmp_path, tap):
    """The failure summary comes after the last BATCH and the other tasks' bookmarks."""
    sim = make_sim(tasks=3, cases=(30, 60, 40), page_size=10)
    sim.set_misbehaviour(102, "cursor_repeat")
    batch_config = readme_batch_config(tmp_path)
    config = login_config(sim.url, [101, 102, 103], batch_config=batch_config)
    results_only = tap.catalog_selecting(config, ["task_results"])
    for args in (["--catalog", str(results_only)], []):
        run = tap.run(config, args=args)
        assert run.exit_code == 1, run.stderr
        assert "task 102" in run.error_lines[-1]
        assert batched_keys(run.messages) >= sim.keys(101) | sim.keys(103)
        assert set(partition_bookmarks(run.final_state)) == {(101, None), (103, None)}
        if not args:  # every default stream, the tasks list after the results' start
            batched = {m["stream"] for m in run.messages if m["type"] == "BATCH"}
            assert {"projects", "tasks", "task_results"} <= batched, batched
