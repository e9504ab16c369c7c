"""Deterministic content of case results: new records and the changes that updates make."""

from __future__ import annotations

import itertools
import random
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from centaur_sim.timefmt import iso_seconds

Record = dict[str, Any]

CLASS_SETS = (
    ("Melanoma", "Nevus", "Seborrheic keratosis", "Basal cell carcinoma"),
    ("Normal", "Pneumonia", "Effusion", "Cardiomegaly", "Nodule"),
    ("No DR", "Mild NPDR", "Moderate NPDR", "Severe NPDR", "PDR"),
)
CHOICE_TITLES = ("Dermoscopy lesion type", "Chest X-ray findings", "Retinopathy grade")
BOX_TITLES = ("Lung nodule boxes", "Polyp detection")
#: Per labeling state: how often new cases are in it (weight), and their fewest and most reads.
STATES = {
    "Ready": (15, 0, 0),
    "Active": (15, 1, 7),
    "Labeled": (45, 8, 20),
    "Gold Standard": (10, 5, 20),
    "Canceled": (5, 0, 4),
    "Flagged": (10, 3, 15),
}
_STATE_NAMES = tuple(STATES)
_CUMULATIVE = tuple(itertools.accumulate(weight for weight, _, _ in STATES.values()))
BASE_SECONDS = 1_704_067_200  # 2024-01-01T00:00:00+00:00
SERIES = ("AX T1", "AX T2", "COR", "SAG", "DERM")
V2_FROM_V1 = ("task_id", "task_name", "project_id", "project_name", "case_id", "task_type")


@dataclass(frozen=True)
class TaskInfo:
    """The task-level fields every record of a task repeats."""

    task_id: int
    task_name: str
    project_id: int
    project_name: str
    task_type: str
    classes: tuple[str, ...]
    extra_fields: bool = False


def make_task(
    index: int,
    task_id: int,
    *,
    project_id: int,
    project_name: str,
    task_type: str | None = None,
    name: str | None = None,
    extra_fields: bool = False,
) -> TaskInfo:
    """Describe the `index`-th task: every third one is a box task unless told otherwise.

    Any type other than "choice" gets geometric (WKT) labels.
    """
    kind = task_type or ("box" if index % 3 == 2 else "choice")
    titles = CHOICE_TITLES if kind == "choice" else BOX_TITLES
    classes = CLASS_SETS[index % len(CLASS_SETS)] if kind == "choice" else ("box", "no_box")
    name = name or f"{titles[index % len(titles)]} #{task_id}"
    return TaskInfo(task_id, name, project_id, project_name, kind, classes, extra_fields)


def project_name(project_id: int) -> str:
    """Return the generated name of a project."""
    return f"Simulated project {project_id}"


def new_record(
    task: TaskInfo, case_id: int, rng: random.Random, next_content_id: Callable[[], int]
) -> Record:
    """Create one case result in the documented field order."""
    state = _STATE_NAMES[bisect(_CUMULATIVE, rng.random() * _CUMULATIVE[-1])]
    _, low, high = STATES[state]
    total = _int(rng, low, high)
    qualified = total - _int(rng, 0, total // 3)
    created = BASE_SECONDS + _int(rng, 0, 90 * 86400 - 1)
    first_read = created + _int(rng, 3600, 10 * 86400 - 1) if total else None
    last_read = first_read + _int(rng, 0, 20 * 86400 - 1) if first_read is not None else None
    counts = _votes(task, qualified, rng)
    choice = task.task_type == "choice"
    patch = _box(rng) if choice and rng.random() < 0.3 else None
    record: Record = {
        "task_id": task.task_id,
        "task_name": task.task_name,
        "project_id": task.project_id,
        "project_name": task.project_name,
        "case_id": case_id,
        "task_type": task.task_type,
        "patch": patch,
        "labeling_state": state,
        "qualified_reads": qualified,
        "content_metadata": _content(case_id, created, rng, next_content_id),
        "agreement": None,
        "difficulty": round(rng.random(), 4) if qualified else None,
        "correct_label": None,
        "majority_label": None,
        "read_stats": {
            "total_reads": total,
            "qualified_reads": qualified,
            "first_read_at": iso_seconds(first_read) if first_read is not None else None,
            "last_read_at": iso_seconds(last_read) if last_read is not None else None,
        },
        "counts": counts,
    }
    if not choice and qualified:
        record["majority_label"] = _box(rng)
    _derive(record, task, rng)
    if task.extra_fields:
        record["review_notes"] = f"QA batch {_int(rng, 1, 40)}: {_pick(rng, SERIES)} reviewed"
    return record


def v2_item(record: Record, notes: bool) -> Record:
    """Return the results-v2 item of a case from its v1 `record` (inferred shape, see README).

    One `results` element per piece of content: its metadata, the case's `patch` as the first
    content's prelabel, and the case's votes as the first content's labels. With `notes`, the
    item carries the undocumented `review_notes`.
    """
    contents = record["content_metadata"]
    votes = [{"label": label, "votes": n} for label, n in record["counts"].items()]
    patch = record["patch"]
    item: Record = {name: record[name] for name in V2_FROM_V1}
    item["content_type"] = "dicom" if contents and contents[0]["series"] else "image"
    item["labeling_state"] = record["labeling_state"]
    item["n_qualified_opinions"] = record["qualified_reads"]
    item["results"] = [
        {
            "content_id": content["content_id"],
            "content_metadata": [content],
            "prelabel": {"type": "wkt", "value": patch} if k == 0 and patch else None,
            "labels": votes if k == 0 else [],
        }
        for k, content in enumerate(contents)
    ]
    if notes:
        item["review_notes"] = record.get("review_notes") or f"QA batch {record['case_id'] % 40}"
    return item


def add_read(record: Record, task: TaskInfo, rng: random.Random, now_seconds: int) -> None:
    """Apply one more qualified read to `record` (state may advance Ready→Active→Labeled)."""
    stats = record["read_stats"]
    stats["total_reads"] += 1
    stats["qualified_reads"] += 1
    record["qualified_reads"] = stats["qualified_reads"]
    stats["last_read_at"] = iso_seconds(now_seconds)
    if stats["first_read_at"] is None:
        stats["first_read_at"] = stats["last_read_at"]
    counts = record["counts"]
    label = _leader(counts) if counts and rng.random() < 0.7 else _pick(rng, task.classes)
    counts[label] = counts.get(label, 0) + 1
    if task.task_type != "choice" and record["majority_label"] is None:
        record["majority_label"] = _box(rng)
    state = record["labeling_state"]
    if state == "Ready":
        record["labeling_state"] = "Active"
    elif state == "Active" and record["qualified_reads"] >= 5 and rng.random() < 0.5:
        record["labeling_state"] = "Labeled"
    if record["difficulty"] is None:
        record["difficulty"] = round(rng.random(), 4)
    _derive(record, task, rng)


def set_state(record: Record, task: TaskInfo, state: str, rng: random.Random) -> None:
    """Move `record` to labeling `state`, keeping `correct_label` consistent with it."""
    record["labeling_state"] = state
    _derive(record, task, rng)


def _derive(record: Record, task: TaskInfo, rng: random.Random) -> None:
    """Recompute agreement, majority and correct labels from the vote counts and state."""
    counts: dict[str, int] = record["counts"]
    votes = sum(counts.values())
    record["agreement"] = round(max(counts.values()) / votes, 4) if votes else None
    if task.task_type == "choice":
        record["majority_label"] = [_leader(counts)] if votes else None
    state = record["labeling_state"]
    if state == "Labeled":
        record["correct_label"] = record["majority_label"] or _label(task, rng)
    elif state == "Gold Standard":
        record["correct_label"] = record["correct_label"] or _label(task, rng)
    else:
        record["correct_label"] = None


def _votes(task: TaskInfo, qualified: int, rng: random.Random) -> dict[str, int]:
    favourite = _pick(rng, task.classes) if task.task_type == "choice" else "box"
    counts: dict[str, int] = {}
    for _ in range(qualified):
        label = favourite if rng.random() < 0.7 else _pick(rng, task.classes)
        counts[label] = counts.get(label, 0) + 1
    return {label: counts[label] for label in task.classes if label in counts}


def _int(rng: random.Random, low: int, high: int) -> int:
    """Return a pseudo-random int in [low, high] (cheaper than `randint`)."""
    return low + int(rng.random() * (high - low + 1))


def _pick(rng: random.Random, items: tuple[str, ...]) -> str:
    """Return a pseudo-random element (cheaper than `choice`)."""
    return items[int(rng.random() * len(items))]


def _leader(counts: dict[str, int]) -> str:
    return max(counts, key=lambda label: counts[label])


def _label(task: TaskInfo, rng: random.Random) -> str | list[str]:
    return [_pick(rng, task.classes)] if task.task_type == "choice" else _box(rng)


def _box(rng: random.Random) -> str:
    x, y = _int(rng, 0, 80), _int(rng, 0, 80)
    x2, y2 = x + _int(rng, 5, 20), y + _int(rng, 5, 20)
    return f"POLYGON(({x} {y}, {x2} {y}, {x2} {y2}, {x} {y2}, {x} {y}))"


def _content(
    case_id: int, created: int, rng: random.Random, next_content_id: Callable[[], int]
) -> list[dict[str, Any]]:
    study = case_id % 997
    series = _pick(rng, SERIES) if rng.random() < 0.6 else None
    return [
        {
            "content_id": next_content_id(),
            "origin": f"s3://centaur-sim-bucket/study-{study}/img-{case_id}-{k}.dcm",
            "origin_created_at": iso_seconds(created + k),
            "series": series,
            "series_index": k if series is not None else None,
        }
        for k in range(_int(rng, 1, 3))
    ]
