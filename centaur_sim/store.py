"""Projects, tasks and their cases, kept in sequence order (case records pre-serialized)."""

from __future__ import annotations

import json
import random
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from centaur_sim import generate
from centaur_sim.config import LABELING_STATES, SimConfig
from centaur_sim.generate import Record, TaskInfo
from centaur_sim.timefmt import iso_micros, iso_seconds

CASE_ID_START = 500_000
CONTENT_ID_START = 9_000_000
PROJECT_ID_START = 7000
TASK_SEQ_START = 3_001
PROJECT_SEQ_START = 401
#: Generated tasks are created one per `TASK_CREATED_STEP` seconds from 2024-01-01 (with jitter).
TASK_CREATED_STEP = 6 * 3600
UPDATED_START_US = (generate.BASE_SECONDS + 121 * 86400) * 1_000_000
UPDATED_SPAN_US = 29 * 86400 * 1_000_000


def encode(record: Record) -> bytes:
    """Serialize a record compactly, as the API sends it."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


class Case:
    """One case: its cursor position, server-side update time and cached JSON bytes."""

    __slots__ = ("_served", "_v2", "body", "case_id", "seq", "state", "updated_us")

    def __init__(self, case_id: int, seq: int, updated_us: int, record: Record) -> None:
        """Store `record` as bytes; `seq` orders pages, `updated_us` feeds `updated_after`."""
        self.case_id = case_id
        self.seq = seq
        self.replace(record, updated_us)

    def replace(self, record: Record, updated_us: int) -> None:
        """Swap in a changed record and its new update time (drops cached bytes)."""
        self.body = encode(record)
        self.state: str = record["labeling_state"]
        self.updated_us = updated_us
        self._served: bytes | None = None
        self._v2: bytes | None = None

    def record(self) -> Record:
        """Return a fresh copy of the stored record."""
        result: Record = json.loads(self.body)
        return result

    def v2(self, notes: bool) -> bytes:
        """Return the bytes results v2 sends for this case (see `generate.v2_item`)."""
        if self._v2 is None:
            self._v2 = encode(generate.v2_item(self.record(), notes))
        return self._v2

    def served(self, expose_updated_at: bool) -> bytes:
        """Return the bytes sent for this case, with `updated_at` appended when exposed."""
        if not expose_updated_at:
            return self.body
        if self._served is None:
            stamp = iso_micros(self.updated_us).encode()
            self._served = self.body[:-1] + b',"updated_at":"' + stamp + b'"}'
        return self._served


@dataclass
class Task:
    """A task: its shared fields, its cases ascending by sequence id, its task-list position.

    `seq` is the task's own sequence id (the cursor of the task list), unrelated to case ones.
    """

    info: TaskInfo
    unsupported: bool = False
    cases: list[Case] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    index: dict[int, Case] = field(default_factory=dict)
    seq: int = 0
    created_s: int = 0
    #: Whether its v2 items carry the undocumented `review_notes` (every other task).
    v2_notes: bool = False

    def item(self) -> dict[str, Any]:
        """Return the task as `/tasks/public/v1/list` and `/get` serve it."""
        info = self.info
        return {
            "task_id": info.task_id,
            "task_name": info.task_name,
            "project_id": info.project_id,
            "project_name": info.project_name,
            "task_type": info.task_type,
            "created_at": iso_seconds(self.created_s),
            "case_count": len(self.cases),
        }

    def append(self, case: Case) -> None:
        """Add a case whose sequence id is above every existing one."""
        self.cases.append(case)
        self.seqs.append(case.seq)
        self.index[case.case_id] = case

    def is_case_seq(self, seq: int) -> bool:
        """Tell whether `seq` is the sequence id of one of this task's cases."""
        pos = bisect_right(self.seqs, seq)
        return pos > 0 and self.seqs[pos - 1] == seq


@dataclass
class Project:
    """A project: a group of tasks, with its own sequence id (the cursor of the project list)."""

    project_id: int
    project_name: str
    seq: int
    created_s: int
    task_ids: list[int] = field(default_factory=list)

    def item(self) -> dict[str, Any]:
        """Return the project as `/projects/public/v1/list` and `/get` serve it."""
        return {
            "project_id": self.project_id,
            "project_name": self.project_name,
            "created_at": iso_seconds(self.created_s),
            "task_count": len(self.task_ids),
        }


class CaseStore:
    """All simulated projects, tasks and cases, generated deterministically from the seed.

    `projects` and `tasks` are kept in creation order, which is ascending sequence-id order.
    """

    def __init__(self, config: SimConfig) -> None:
        """Generate the configured tasks and cases."""
        self._rng = random.Random(config.seed)  # noqa: S311 - simulated data
        # a separate generator, so that the case data does not depend on the catalog's
        self._catalog_rng = random.Random(f"{config.seed}-catalog")  # noqa: S311
        self._next_seq = config.first_sequence_id
        self._next_case_id = CASE_ID_START
        self._next_content_id = CONTENT_ID_START
        self._next_task_seq = TASK_SEQ_START
        self._next_project_seq = PROJECT_SEQ_START
        self._tasks_per_project = config.tasks_per_project
        self.tasks: dict[int, Task] = {}
        self.projects: dict[int, Project] = {}
        #: The same, as lists in creation (= sequence-id) order: what the catalog lists page.
        self.task_rows: list[Task] = []
        self.project_rows: list[Project] = []
        unsupported = set(config.unsupported_task_ids)
        for i, count in enumerate(config.cases_per_task()):
            task_id = config.first_task_id + i
            self.add_task(
                task_id=task_id,
                count=count,
                unsupported=task_id in unsupported,
                extra_fields=config.extra_fields and i % 2 == 0,
            )

    def task(self, task_id: int) -> Task:
        """Return the task (KeyError when unknown)."""
        return self.tasks[task_id]

    def project(self, project_id: int) -> Project:
        """Return the project (KeyError when unknown)."""
        return self.projects[project_id]

    def add_project(
        self, project_id: int | None = None, *, name: str | None = None, created_s: int
    ) -> Project:
        """Create an empty project (next free id from 7000 by default); ValueError if taken."""
        if project_id is None:
            project_id = max(self.projects, default=PROJECT_ID_START - 1) + 1
        if project_id in self.projects or project_id < 1:
            raise ValueError(f"project id {project_id} is taken or invalid")
        project = Project(
            project_id=project_id,
            project_name=name or generate.project_name(project_id),
            seq=self._next_project_seq,
            created_s=created_s,
        )
        self._next_project_seq += 1 + int(self._catalog_rng.random() * 3)
        self.projects[project_id] = project
        self.project_rows.append(project)
        return project

    def add_task(
        self,
        task_id: int | None = None,
        count: int = 0,
        *,
        task_type: str | None = None,
        name: str | None = None,
        unsupported: bool = False,
        extra_fields: bool = False,
        project_id: int | None = None,
        created_s: int | None = None,
    ) -> Task:
        """Create a task with `count` cases; unsupported tasks default to type "polygon".

        The task joins project `project_id` (created when unknown); by default the n-th task
        (from 0) joins project 7000 + n // tasks_per_project. `created_s` (epoch seconds)
        defaults to a time generated from the task's position (2024-01-01 onwards).
        """
        if task_id is None:
            task_id = max(self.tasks, default=100) + 1
        if task_id in self.tasks or task_id < 1:
            raise ValueError(f"task id {task_id} is taken or invalid")
        if project_id is not None and project_id < 1:
            raise ValueError(f"project id {project_id} is invalid")
        if unsupported and task_type is None:
            task_type = "polygon"
        position = len(self.tasks)
        if project_id is None:
            project_id = PROJECT_ID_START + position // self._tasks_per_project
        if created_s is None:
            jitter = int(self._catalog_rng.random() * TASK_CREATED_STEP)
            created_s = generate.BASE_SECONDS + position * TASK_CREATED_STEP + jitter
        project = self.projects.get(project_id)
        if project is None:
            project = self.add_project(project_id, created_s=created_s)
        info = generate.make_task(
            position,
            task_id,
            project_id=project.project_id,
            project_name=project.project_name,
            task_type=task_type,
            name=name,
            extra_fields=extra_fields,
        )
        task = Task(
            info=info,
            unsupported=unsupported,
            seq=self._next_task_seq,
            created_s=created_s,
            v2_notes=position % 2 == 0,
        )
        self._next_task_seq += 1 + int(self._catalog_rng.random() * 4)
        self.tasks[task_id] = task
        self.task_rows.append(task)
        project.task_ids.append(task_id)
        ids = [self._new_case_id() for _ in range(count)]
        self._rng.shuffle(ids)
        previous = UPDATED_START_US
        for case_id in ids:
            if self._rng.random() < 0.1:  # same second as the previous case
                updated = previous // 1_000_000 * 1_000_000 + int(self._rng.random() * 1_000_000)
            else:
                updated = UPDATED_START_US + int(self._rng.random() * UPDATED_SPAN_US)
            previous = updated
            self._append(task, case_id, updated, self._rng)
        return task

    def add_cases(self, task_id: int, count: int, updated_us: int, rng: random.Random) -> list[int]:
        """Append `count` new cases (new, larger sequence ids) updated at `updated_us`."""
        task = self.task(task_id)
        return [
            self._append(task, self._new_case_id(), updated_us, rng).case_id for _ in range(count)
        ]

    def update(
        self, task_id: int, case_ids: Iterable[int], updated_us: int, rng: random.Random
    ) -> list[int]:
        """Give each case one more read and the update time `updated_us`."""
        task = self.task(task_id)
        cases = [self._case(task, case_id) for case_id in case_ids]
        for case in cases:
            record = case.record()
            generate.add_read(record, task.info, rng, updated_us // 1_000_000)
            case.replace(record, updated_us)
        return [case.case_id for case in cases]

    def set_state(
        self, task_id: int, case_id: int, state: str, updated_us: int, rng: random.Random
    ) -> None:
        """Move a case to labeling `state`, which counts as an update."""
        if state not in LABELING_STATES:
            raise ValueError(f"labeling state must be one of {LABELING_STATES}")
        task = self.task(task_id)
        case = self._case(task, case_id)
        record = case.record()
        generate.set_state(record, task.info, state, rng)
        case.replace(record, updated_us)

    def select(
        self,
        task: Task,
        after: int | None,
        state: str | None,
        updated_after_us: int | None,
        limit: int,
    ) -> tuple[list[Case], bool]:
        """Return up to `limit` matching cases with sequence id > `after`; tell if more match."""
        start = 0 if after is None else bisect_right(task.seqs, after)
        cases = task.cases
        if state is None and updated_after_us is None:
            return cases[start : start + limit], start + limit < len(cases)
        found: list[Case] = []
        for i in range(start, len(cases)):
            case = cases[i]
            if (state is None or case.state == state) and (
                updated_after_us is None or case.updated_us > updated_after_us
            ):
                if len(found) == limit:
                    return found, True
                found.append(case)
        return found, False

    def _append(self, task: Task, case_id: int, updated_us: int, rng: random.Random) -> Case:
        record = generate.new_record(task.info, case_id, rng, self._new_content_id)
        case = Case(case_id, self._next_seq, updated_us, record)
        # gaps of at least 2 leave room for the cursors of misbehaving empty pages
        self._next_seq += 2 + int(self._rng.random() * 4)
        task.append(case)
        return case

    def _case(self, task: Task, case_id: int) -> Case:
        try:
            return task.index[case_id]
        except KeyError:
            raise KeyError(f"case {case_id} not in task {task.info.task_id}") from None

    def _new_case_id(self) -> int:
        self._next_case_id += 1 + int(self._rng.random() * 9)
        return self._next_case_id

    def _new_content_id(self) -> int:
        self._next_content_id += 1 + int(self._rng.random() * 3)
        return self._next_content_id

    def describe(self, task: Task) -> list[dict[str, Any]]:
        """Return server-side metadata of a task's cases (sequence id, update time, state)."""
        return [
            {
                "task_id": task.info.task_id,
                "case_id": case.case_id,
                "sequence_id": case.seq,
                "updated_at": case.updated_us / 1_000_000,
                "updated_at_iso": iso_micros(case.updated_us),
                "labeling_state": case.state,
            }
            for case in task.cases
        ]
