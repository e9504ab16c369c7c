"""What a tap run printed: `Run`, its Singer messages parsed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any


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
        """The Singer messages of the complete lines."""
        complete = self.stdout.rpartition("\n")[0]
        # Lines end at "\n" only, as a target reads them: a record may hold U+2028 and the like.
        return [json.loads(line) for line in complete.split("\n") if line.strip()]

    @property
    def partial_tail(self) -> str:
        """Bytes after the last newline (a line cut short by SIGKILL), else ""."""
        return self.stdout.rpartition("\n")[2]

    def records_of(self, stream: str) -> list[dict[str, Any]]:
        """The records of one stream, in output order."""
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def records(self) -> list[dict[str, Any]]:
        """The task_results records (the main stream)."""
        return self.records_of("task_results")

    @property
    def keys(self) -> list[tuple[int, int]]:
        """(task_id, case_id) of the task_results records, in output order."""
        return [(r["task_id"], r["case_id"]) for r in self.records]

    @property
    def states(self) -> list[dict[str, Any]]:
        """The value of every STATE message."""
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, Any] | None:
        """The last STATE's value (None: no STATE)."""
        states = self.states
        return states[-1] if states else None

    @property
    def error_lines(self) -> list[str]:
        """The ERROR lines of stderr."""
        return [line for line in self.stderr.splitlines() if "| ERROR" in line]

    @property
    def retries(self) -> int:
        """How many retries the tap logged ('Retrying (n of m) in x s after: ...')."""
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
    """A run's output, its stdout decoded."""
    return Run(exit_code, stdout.decode("utf-8", errors="replace"), stderr, **fields)
