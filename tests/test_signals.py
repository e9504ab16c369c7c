"""SIGTERM and SIGINT end the run with exit 0 and a final STATE line; no line is ever cut."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.tap_runner import login_config, partition_bookmarks


def output_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_run_with_a_valid_final_state(make_sim, tmp_path, signum):
    sim = make_sim(tasks=4, cases=(400, 400, 400, 400), page_size=20, latency_ms=30)
    config_path = tmp_path / "config.json"
    config = login_config(sim.url, [101, 102, 103, 104], max_parallel_tasks=2)
    config_path.write_text(json.dumps(config))
    received = bytearray()
    process = subprocess.Popen(
        [sys.executable, "-m", "tap_centaur", "--config", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )

    stdout = process.stdout
    assert isinstance(stdout, io.BufferedReader)

    def read_slowly():  # a slow target: the pipe stays full and the tap's writes block
        while chunk := stdout.read1(4096):
            received.extend(chunk)
            time.sleep(0.002)

    reader = threading.Thread(target=read_slowly)
    reader.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and b'"replication_key_value"' not in received:
        time.sleep(0.01)
    time.sleep(0.05)  # now in the middle of task 2, with a write likely blocked
    process.send_signal(signum)
    assert process.wait(timeout=60) == 0
    reader.join(timeout=10)
    out_path = tmp_path / "out.jsonl"
    out_path.write_bytes(bytes(received))
    messages = output_lines(out_path)  # every line parses: none was cut by the signal
    assert messages[-1]["type"] == "STATE"
    bookmarks = partition_bookmarks(messages[-1]["value"])
    assert bookmarks, "the first task completed before the signal"
    assert len(bookmarks) < 4, "the run was stopped before the end"
    records = {
        (m["record"]["task_id"], m["record"]["case_id"])
        for m in messages
        if m["type"] == "RECORD" and m["stream"] == "task_results"
    }
    for task_id, _ in bookmarks:
        assert {(task_id, c["case_id"]) for c in sim.truth(task_id)} <= records
