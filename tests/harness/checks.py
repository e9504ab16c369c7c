"""Checks of a run's output: secrets, the error line, bookmarks."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from tests.harness.credentials import SECRET_NAMES
from tests.harness.output import Run

#: Secrets this long must not appear even in part: no PARTIAL characters of them in a row.
PARTIAL_FROM, PARTIAL = 16, 10


def partition_bookmarks(
    state: dict[str, Any] | None, stream: str = "task_results"
) -> dict[tuple[int, str | None], str]:
    """{(task_id, labeling_state or None): bookmark} of a stream's partitions that have one."""
    if not state:
        return {}
    stream_state = state.get("bookmarks", {}).get(stream, {})
    return {
        (p["context"]["task_id"], p["context"].get("labeling_state")): p["replication_key_value"]
        for p in stream_state.get("partitions", [])
        if p.get("replication_key_value")
    }


def assert_no_secrets(run: Run, secrets: Iterable[str]) -> None:
    """No secret in stdout, stderr, STATE messages or the state file, in any form or part.

    Forms: as is, escaped as Python (str and bytes) or JSON (`/` as is and as `\\/`) escape
    it, URL-encoded (also keeping `/`, or in lower-case hex); and of a secret of 16
    characters or more, any 10 characters in a row.
    """
    places = {
        "stdout": run.stdout,
        "stderr": run.stderr,
        "STATE messages": json.dumps(run.states),
        "state file": run.state_file.read_text() if run.state_file else "",
    }
    for secret in secrets:
        name = SECRET_NAMES.get(secret, "a secret (session token, config value or extra)")
        for form in leak_forms(secret):
            for where, text in places.items():
                assert form not in text, f"{name} leaked into {where} (as {form!r})"


def leak_forms(secret: str) -> set[str]:
    """What of a secret must never be printed (see `assert_no_secrets`)."""
    as_json = json.dumps(secret)[1:-1]
    forms = {
        secret,
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "surrogatepass"))[2:-1],
        as_json,
        as_json.replace("/", "\\/"),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        lower_hex(secret),
    }
    if len(secret) >= PARTIAL_FROM:
        forms.update(secret[i : i + PARTIAL] for i in range(len(secret) - PARTIAL + 1))
    return forms


def lower_hex(secret: str) -> str:
    """`secret` URL-encoded with lower-case hex digits (`%2f`), as some servers write it."""
    return re.sub("%[0-9A-F]{2}", lambda escape: escape[0].lower(), quote(secret, safe=""))


def assert_one_clear_error(run: Run, *fragments: str, traceback_allowed: bool = False) -> str:
    """Non-zero exit, the last ERROR line holds every fragment; no traceback unless allowed."""
    assert run.exit_code not in (0, None), run.stderr[-3000:]
    errors = run.error_lines
    assert errors, f"no ERROR line in stderr:\n{run.stderr[-3000:]}"
    last = errors[-1]
    for fragment in fragments:
        assert fragment in last, f"{fragment!r} not in the error line: {last}"
    if not traceback_allowed:
        assert "Traceback" not in run.stderr, run.stderr[-3000:]
    return last


def premature_bookmarks(run: Run, expected: Mapping[int, set[tuple[int, int]]]) -> list[str]:
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


def as_emitted(records: Iterable[dict[str, Any]], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Records as the tap emits them: each label (a field with a `<label>_wkt` sibling) in the
    field of its shape, class names or WKT; fields the schema does not list, and labels of
    another shape, in undocumented_fields."""
    properties = schema["properties"]
    labels = [name for name in properties if f"{name}_wkt" in properties]
    emitted = []
    for record in records:
        kept = {k: v for k, v in record.items() if k in properties}
        extra = {k: v for k, v in record.items() if k not in properties}
        for label in labels:
            value = kept.get(label)
            shapes = {label: list, f"{label}_wkt": str}
            kept.update(
                {field: value if type(value) is shape else None for field, shape in shapes.items()}
            )
            if isinstance(value, list) and not all(isinstance(name, str) for name in value):
                kept[label] = None
            if value is not None and kept[label] is None and kept[f"{label}_wkt"] is None:
                extra[label] = value
        emitted.append({**kept, "undocumented_fields": extra} if extra else kept)
    return emitted
