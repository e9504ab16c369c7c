"""What a tap run printed (`Run`, its Singer messages parsed) and the checks of it, the first
that it holds none of this suite's credentials (values that cannot appear by accident)."""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import msgspec

API_KEY = "tct-apikey-Q7x2Vd9Lm4Kf"
USERNAME = "test-robot@example.com"
API_PASSWORD = "tct-apipass-Zk81Wq3Rt6Yh"
STATIC_TOKEN = "tct-bearer-Hs5Ny0Pc2JuX"
WRONG_PASSWORD = "tct-wrongpass-Mc4Ta9Ke1B"
SECRETS = (API_KEY, API_PASSWORD, STATIC_TOKEN)
SECRET_NAMES = {
    API_KEY: "api_key",
    API_PASSWORD: "api_password",
    STATIC_TOKEN: "bearer_token",
    WRONG_PASSWORD: "a wrong api_password",
}
#: Secrets this long must not appear even in part: no PARTIAL characters of them in a row.
PARTIAL_FROM, PARTIAL = 16, 10
#: PARTIAL characters in a row hold a piece of ANCHOR characters starting at a multiple of it.
ANCHOR = PARTIAL // 2


@dataclass
class Run:
    """What one run of the tap printed, and how it ended."""

    exit_code: int
    stdout: str
    stderr: str
    duration: float = 0.0
    #: Whether the Stop condition fired (False: the run ended before it).
    stopped: bool = False
    #: Seconds from start to the first byte of stdout (None: no output).
    first_output: float | None = None
    state_file: Path | None = None
    in_process: bool = True
    #: Seconds from the Stop's signal to the end of the output (None: no signal sent).
    stop_seconds: float | None = None

    @cached_property
    def messages(self) -> list[dict[str, Any]]:
        """The Singer messages of the complete lines (a line ends at "\n" only, as a target
        reads it: a record may hold U+2028 and the like)."""
        complete = self.stdout.rpartition("\n")[0]
        return [msgspec.json.decode(line) for line in complete.split("\n") if line.strip()]

    @property
    def partial_tail(self) -> str:
        """What follows the last newline (a line cut short by SIGKILL), else ""."""
        return self.stdout.rpartition("\n")[2]

    def records_of(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.records_of("task_results")

    @property
    def keys(self) -> list[tuple[int, int]]:
        return [(r["task_id"], r["case_id"]) for r in self.records]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, Any] | None:
        return next((m["value"] for m in reversed(self.messages) if m["type"] == "STATE"), None)

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "| ERROR" in line]

    @property
    def retries(self) -> int:
        return self.stderr.count("Retrying (")

    def records_after_last_state(self) -> list[tuple[int, int]]:
        """Keys of the records printed after the last STATE (not covered by any bookmark)."""
        keys: list[tuple[int, int]] = []
        for message in self.messages:
            if message["type"] == "STATE":
                keys = []
            elif message["type"] == "RECORD" and message["stream"] == "task_results":
                keys.append((message["record"]["task_id"], message["record"]["case_id"]))
        return keys


def parse(exit_code: int, stdout: bytes, stderr: str, **fields: Any) -> Run:
    return Run(exit_code, stdout.decode("utf-8", errors="replace"), stderr, **fields)


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
    """No secret in stdout, stderr, STATE messages or the state file, in any of `leak_forms`
    nor, of a secret of PARTIAL_FROM characters or more, any PARTIAL characters in a row."""
    places = {
        "stdout": run.stdout,
        "stderr": run.stderr,
        "STATE messages": json.dumps(run.states) if run.state_file else "",
        "state file": run.state_file.read_text() if run.state_file else "",
    }
    for secret in dict.fromkeys(secrets):
        name = SECRET_NAMES.get(secret, "a secret (session token, config value or extra)")
        for where, text in places.items():
            leak = leaked_form(secret, text)
            assert leak is None, f"{name} leaked into {where} (as {leak!r})"


def leaked_form(secret: str, text: str) -> str | None:
    for form in _whole_forms(secret):
        if form in text:
            return form
    if len(secret) < PARTIAL_FROM:
        return None
    # PARTIAL characters in a row hold one of the ANCHOR-long pieces that start at multiples of
    # ANCHOR: find each piece, then how far the secret goes on around it.
    for start in range(0, len(secret) - ANCHOR, ANCHOR):
        piece = secret[start : start + ANCHOR]
        at = text.find(piece)
        while at != -1:
            left, right = start, start + ANCHOR  # the secret's characters matched
            while left and at - start + left and text[at - start + left - 1] == secret[left - 1]:
                left -= 1
            end = at - start + right
            while right < len(secret) and end < len(text) and text[end] == secret[right]:
                right, end = right + 1, end + 1
            if right - left >= PARTIAL:
                return secret[left:right]
            at = text.find(piece, at + 1)
    return None


@functools.cache
def _whole_forms(secret: str) -> tuple[str, ...]:
    """The forms of `leak_forms` but those that the search for PARTIAL characters finds."""
    parts = [secret[i : i + PARTIAL] for i in range(len(secret) - PARTIAL + 1)]
    partial = len(secret) >= PARTIAL_FROM
    return tuple(f for f in leak_forms(secret) if not (partial and any(p in f for p in parts)))


def leak_forms(secret: str) -> set[str]:
    """The whole forms of a secret that must never be printed; apart from `forms_of` in
    tap_centaur/redaction.py on purpose, so that its sabotage cannot weaken the check."""
    as_json = json.dumps(secret)[1:-1]
    return {
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
    """STATE messages that bookmark a task before every one of its `expected` records (for runs
    from no state, one partition per task: a bookmark is safe only once its task is read)."""
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
