"""Scenario 14, server text in log lines: it can neither forge lines nor flood the log."""

from __future__ import annotations

import json
import re

from tests.harness import LIST, assert_one_clear_error, login_config

FORGED = "2026-12-06 20:00:00,000 | INFO     | tap-centaur | Sync completed: 0 tasks failed"
HOSTILE = f"denied\n{FORGED}\n\x1b[2J\x1b[H\u2028\u202e"
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \| (DEBUG|INFO|WARNING|ERROR) ")


def test_server_text_cannot_forge_or_garble_a_log_line(make_sim, tap):
    sim = make_sim(tasks=3, cases=(30, 30, 30), page_size=10)
    hostile_task = sim.add_task(cases=5, unsupported=True, name=HOSTILE + "x" * 5000)
    sim.script_faults(
        [
            {"kind": "answer", "status": 403, "body": json.dumps({"message": HOSTILE}),
             "count": 2, "path": LIST, "task_id": 102},  # one per run: INFO, DEBUG
            {"kind": "answer", "status": 503, "reason": f"Busy\r{FORGED}\x1b[2K", "count": 99,
             "path": LIST, "task_id": 103},
        ]
    )  # fmt: skip
    config = login_config(sim.url, (), max_retries=1)
    del config["task_ids"]  # the task list is read first: the hostile name is known at the 426
    for level, run in tap.run_at_levels(config).items():
        assert run.exit_code == 1, run.stderr[-3000:]
        for character in ("\x1b", "\r", "\u2028", "\u202e"):
            assert character not in run.stderr, f"{level}: {character!r} reached the log"
        lines = run.stderr.splitlines()
        assert not [line for line in lines if line.startswith(FORGED[:23])], level
        if level == "INFO":
            assert [line for line in lines if not LOG_LINE.match(line)] == []
        shown = "\\n" + FORGED  # the server's text is there, escaped: the test is not empty
        assert shown in run.error_lines[-1] and f"Busy\\r{FORGED[:40]}" in run.error_lines[-1]
        assert f"task {hostile_task} ('denied\\n{FORGED}" in run.stderr
        assert {task for task, _ in run.keys} == {101}  # the hostile task is read by v2


def test_a_flood_of_server_text_is_cut_and_counted(make_sim, tap, figures):
    """20 tasks answer 403 with a message of 1 MiB each (42 MB of stderr before issue 19)."""
    tasks = 20
    sim = make_sim(tasks=tasks, cases=1)
    body = json.dumps({"message": "flood " * (2**20 // 6)})
    sim.script_faults([{"kind": "answer", "status": 403, "body": body, "count": tasks,
                        "path": LIST}])  # fmt: skip
    run = tap.run(login_config(sim.url, sim.task_ids()))
    summary = run.error_lines[-1]
    assert f"{tasks} tasks failed" in summary, summary[:300]
    longest = max(len(line) for line in run.stderr.splitlines())
    figures.update(
        server_text_bytes=tasks * len(body), stderr_bytes=len(run.stderr), longest_line=longest
    )
    assert len(run.stderr) < 64 * 1024, f"{len(run.stderr):,} bytes of stderr"
    assert longest < 4096, f"a line of {longest:,} characters"
    assert re.search(r"; and 15 more \(see the warnings above\)$", summary), summary[-300:]


def test_a_header_line_the_http_library_cannot_parse_is_cut_without_a_traceback(make_sim, tap):
    """urllib3 logs such a line whole, with a traceback, at WARNING (a reason phrase with CRLF)."""
    sim = make_sim(tasks=2, cases=(5, 5))
    bad_line = "no colon here " + "x" * 60_000
    sim.script_faults([{"kind": "answer", "status": 503, "reason": f"Busy\r\n{bad_line}",
                        "count": 2, "path": LIST, "task_id": 102}])  # fmt: skip
    config = login_config(sim.url, (101, 102), max_retries=0, request_timeout=1)
    for level, run in tap.run_at_levels(config).items():  # the answer never ends (no headers)
        quoting = [line for line in run.stderr.splitlines() if "no colon here" in line]
        assert any("Failed to parse headers" in line for line in quoting)  # not an empty test
        assert max(map(len, quoting)) < 1000, level  # the traceback's lines too, at DEBUG
        assert_one_clear_error(
            run, "task 102", "request_timeout", traceback_allowed=level == "DEBUG"
        )
