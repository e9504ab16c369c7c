"""Projects, tasks and their cases, kept in sequence order (case records pre-serialized)."""

from __future__ import annotations

import json
import pickle
import random
import threading
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from centaur_sim import generate
from centaur_sim.config import SimConfig, words
from centaur_sim.generate import Record, TaskInfo
from centaur_sim.timefmt import iso_micros, iso_seconds

CASE_ID_START = 500_000
CONTENT_ID_START = 9_000_000
PROJECT_ID_START = 7000
#: The n-th task (from 0) joins project 7000 + n // TASKS_PER_PROJECT unless told otherwise.
TASKS_PER_PROJECT = 2
TASK_SEQ_START = 3_001
PROJECT_SEQ_START = 401
#: Generated tasks are created one per `TASK_CREATED_STEP` seconds from 2024-01-01 (with jitter).
TASK_CREATED_STEP = 6 * 3600
UPDATED_START_US = (generate.BASE_SECONDS + 121 * 86400) * 1_000_000
UPDATED_SPAN_US = 29 * 86400 * 1_000_000


#: The settings `CaseStore` is generated from: configs equal in these have equal stores.
GENERATED_FROM = words(
    "seed tasks cases first_task_id first_sequence_id unsupported_task_ids extra_fields"
)
#: How many generated stores `new_store` keeps (as pickles) for the next simulators.
KEPT_STORES = 32


def encode(record: Record) -> bytes:
    """Serialize a record compactly, as the API sends it."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


class Case:
    """One case: its cursor position, server-side update time and cached JSON bytes."""

    __slots__ = ("_v2", "body", "case_id", "seq", "state", "updated_us")

    def __init__(self, case_id: int, seq: int, updated_us: int, record: Record) -> None:
        """Store `record` as bytes; `seq` orders pages, `updated_us` feeds `updated_after`."""
        self.case_id = case_id
        self.seq = seq
        self.replace(record, updated_us)

    def replace(self, record: Record, updated_us: int) -> None:
        """Swap in a changed record and its new update time (drops the cached v2 bytes)."""
        self.body = encode(record)
        self.state: str = record["labeling_state"]
        self.updated_us = updated_us
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


@dataclass
class Task:
    """A task: its shared fields, its cases ascending by sequence id, its task-list position.

    `seq` is the task's own sequence id (the cursor of the task list), unrelated to case ones.
    """

    info: TaskInfo
    seq: int
    created_s: int
    unsupported: bool = False
    #: Whether its v2 items carry the undocumented `review_notes` (every other task).
    v2_notes: bool = False
    cases: list[Case] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    index: dict[int, Case] = field(default_factory=dict)

    def item(self) -> dict[str, Any]:
        """Return the task as `/tasks/public/v1/list` serves it."""
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

    def is_case_seq(self, seq: int) -> bool:
        """Tell whether `seq` is the sequence id of one of this task's cases."""
        pos = bisect_right(self.seqs, seq)
        return pos > 0 and self.seqs[pos - 1] == seq


@dataclass
class Project:
    """A project: a group of tasks, with its own sequence id (the cursor of the project list)."""

    project_id: int
    seq: int
    created_s: int
    task_ids: list[int] = field(default_factory=list)

    def item(self) -> dict[str, Any]:
        """Return the project as `/projects/public/v1/list` serves it."""
        return {
            "project_id": self.project_id,
            "project_name": generate.project_name(self.project_id),
            "created_at": iso_seconds(self.created_s),
            "task_count": len(self.task_ids),
        }


class CaseStore:
    """All simulated projects, tasks and cases, generated deterministically from the seed.

    `task_rows` and `project_rows` are in creation order, which is ascending sequence-id order.
    """

    def __init__(self, config: SimConfig) -> None:
        """Generate the configured tasks and cases."""
        self.rng = random.Random(config.seed)  # noqa: S311 - simulated data
        # a separate generator, so that the case data does not depend on the catalog's
        self._catalog_rng = random.Random(f"{config.seed}-catalog")  # noqa: S311
        self._next_seq = config.first_sequence_id
        self._next_case_id = CASE_ID_START
        self._next_content_id = CONTENT_ID_START
        self._next_task_seq = TASK_SEQ_START
        self._next_project_seq = PROJECT_SEQ_START
        self.tasks: dict[int, Task] = {}
        self.projects: dict[int, Project] = {}
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
        (from 0) joins project 7000 + n // TASKS_PER_PROJECT. `created_s` (epoch seconds)
        defaults to a time generated from the task's position (2024-01-01 onwards).
        """
        if task_id is None:
            task_id = max(self.tasks, default=100) + 1
        if task_id in self.tasks or task_id < 1 or (project_id is not None and project_id < 1):
            raise ValueError(f"task id {task_id} is taken, or a task or project id is invalid")
        position = len(self.tasks)
        if project_id is None:
            project_id = PROJECT_ID_START + position // TASKS_PER_PROJECT
        if created_s is None:
            jitter = int(self._catalog_rng.random() * TASK_CREATED_STEP)
            created_s = generate.BASE_SECONDS + position * TASK_CREATED_STEP + jitter
        project = self.projects.get(project_id) or self._add_project(project_id, created_s)
        info = generate.make_task(
            position,
            task_id,
            project_id=project_id,
            project_name=generate.project_name(project_id),
            task_type=task_type or ("polygon" if unsupported else None),
            name=name,
            extra_fields=extra_fields,
        )
        task = Task(info, self._next_task_seq, created_s, unsupported, v2_notes=position % 2 == 0)
        self._next_task_seq += 1 + int(self._catalog_rng.random() * 4)
        self.tasks[task_id] = task
        self.task_rows.append(task)
        project.task_ids.append(task_id)
        ids = [self._new_case_id() for _ in range(count)]
        self.rng.shuffle(ids)
        previous = UPDATED_START_US
        for case_id in ids:
            if self.rng.random() < 0.1:  # same second as the previous case
                updated = previous // 1_000_000 * 1_000_000 + int(self.rng.random() * 1_000_000)
            else:
                updated = UPDATED_START_US + int(self.rng.random() * UPDATED_SPAN_US)
            previous = updated
            self.append(task, case_id, updated, self.rng)
        return task

    def append(self, task: Task, case_id: int | None, updated_us: int, rng: random.Random) -> Case:
        """Add a new case (next case id by default) after every existing one."""
        case_id = self._new_case_id() if case_id is None else case_id
        record = generate.new_record(task.info, case_id, rng, self._new_content_id)
        case = Case(case_id, self._next_seq, updated_us, record)
        # gaps of at least 2 leave room for the cursors of misbehaving empty pages
        self._next_seq += 2 + int(self.rng.random() * 4)
        task.cases.append(case)
        task.seqs.append(case.seq)
        task.index[case_id] = case
        return case

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

    def _add_project(self, project_id: int, created_s: int) -> Project:
        project = Project(project_id, self._next_project_seq, created_s)
        self._next_project_seq += 1 + int(self._catalog_rng.random() * 3)
        self.projects[project_id] = project
        self.project_rows.append(project)
        return project

    def _new_case_id(self) -> int:
        self._next_case_id += 1 + int(self.rng.random() * 9)
        return self._next_case_id

    def _new_content_id(self) -> int:
        self._next_content_id += 1 + int(self.rng.random() * 3)
        return self._next_content_id


_generated: dict[tuple[Any, ...], bytes] = {}
_generated_lock = threading.Lock()


def new_store(config: SimConfig) -> CaseStore:
    """A store equal to `CaseStore(config)`, of its own: each seed and layout is generated once.

    Tests start hundreds of simulators of a few layouts. Generating one (a record and its JSON
    per case) takes ~20 times as long as unpickling a copy of one generated before.
    """
    key = tuple(getattr(config, name) for name in GENERATED_FROM)
    with _generated_lock:
        pickled = _generated.get(key)
        if pickled is None:
            pickled = pickle.dumps(CaseStore(config), protocol=pickle.HIGHEST_PROTOCOL)
            if len(_generated) >= KEPT_STORES:
                del _generated[next(iter(_generated))]
            _generated[key] = pickled
    store: CaseStore = pickle.loads(pickled)  # noqa: S301 - pickled by this process just above
    return store
