"""Benchmark of tap-centaur against the local simulator (`make bench`).

Measures, in one run, side by side:

1. CPU per record at zero latency: user+sys CPU seconds of the tap process and of the floor
   client (`scripts/floor_client.py`, the least any extractor must do) on the same pages.
2. Wall time under latency: the tap with parallelism 1 and N against the critical path (the
   longest task's pages x latency), net of the tap's fixed startup (an empty sync's wall); the
   floor client with N threads, net of its own startup, as the reference.
3. Memory: peak RSS of the tap process syncing a small and a large number of records.
4. Scale: discovery over a few hundred to ten thousand tasks of one case each, as a user runs
   the tap (default streams and settings): wall, CPU, STATE bytes against the final STATE's,
   peak RSS, STATE messages and INFO log lines per size.
5. Wall time as a user runs it: the tap (start-up included, default streams) against the
   floor client with N threads on the same tasks under latency, paired run by run.

A speed probe (a fixed Python loop) is timed before and after, since this VM's speed drifts.

Every program runs as its own process: the simulator (so its CPU is not the tap's), and each tap
or floor run, measured with `os.wait4`. In measurements 1-3 the tap syncs the `task_results`
stream alone (a catalog selects it); in 4 and 5 it runs without a catalog, as a user runs it.
Each measurement is repeated and the medians reported.
Prints the machine, the settings and a table; writes the details as JSON under output/bench/.
No target is enforced here: the table says whether each is met.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make the repository's packages importable
from centaur_sim import process as sim_process  # noqa: E402

FLOOR_CLIENT = ROOT / "scripts" / "floor_client.py"
CREDENTIALS = {
    "api_key": "demo-api-key",
    "username": "demo@example.com",
    "api_password": "demo-api-password",
}
RECORD_PREFIXES = (b'{"type":"RECORD"', b'{"type": "RECORD"')
FIRST_TASK_ID = 101
STREAM = "task_results"
SIM_START_TIMEOUT = 300.0
#: Unset for every measured process, so results do not depend on the calling shell: unbuffered
#: stdout costs a system call per line, and without bytecode files each start recompiles.
UNSET_VARIABLES = ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")
SPEED_PROBE_STEPS = 10_000_000
TARGETS = {
    "cpu_ratio": 1.5,
    "latency_ratio": 1.25,
    "memory_ratio": 1.15,
    "scale_state_ratio": 20.0,
    "scale_cpu_ratio": 12.0,
    "user_wall_ratio": 1.10,
}
#: The simulator's (and the API's) page size when a request sends no `limit`.
API_DEFAULT_PAGE_SIZE = 100
STATE_PREFIXES = (b'{"type":"STATE"', b'{"type": "STATE"')


class BenchError(Exception):
    """A run failed or produced the wrong records; the message says which."""


@dataclass(frozen=True)
class Plan:
    """What to measure, and how big."""

    repeat: int = 3
    page_size: int = 1000
    cpu_tasks: int = 2
    cpu_cases: int = 60_000
    mem_tasks: int = 4
    mem_small: int = 20_000
    mem_large: int = 200_000
    startup_tasks: int = 8
    lat_tasks: int = 8
    lat_cases: int = 2_600
    lat_page_size: int = 100
    latency_ms: float = 50.0
    parallel: int = 8
    scale_sizes: tuple[int, ...] = (200, 2_000, 10_000)
    user_tasks: int = 8
    user_cases: int = 6_100
    pairs: int = 9
    timeout: float = 900.0
    #: One unmeasured run before measurements 1, 4 and 5 (bytecode and disk caches); the quick
    #: smoke run skips them: its numbers mean nothing anyway.
    warm_ups: bool = True

    @property
    def lat_pages(self) -> int:
        """Pages of each latency task (the simulator ends on the last full or partial page)."""
        return max(1, math.ceil(self.lat_cases / self.lat_page_size))

    @property
    def user_pages(self) -> int:
        """Pages of each task of measurement 5, at the API's default page size."""
        return max(1, math.ceil(self.user_cases / API_DEFAULT_PAGE_SIZE))


QUICK = Plan(
    repeat=1,
    cpu_cases=1_500,
    mem_small=1_000,
    mem_large=10_000,
    lat_cases=300,
    latency_ms=20.0,
    scale_sizes=(10, 50, 100),
    user_cases=300,
    pairs=2,
    timeout=120.0,
    warm_ups=False,
)


@dataclass(frozen=True)
class ChildRun:
    """What one measured process cost."""

    wall_s: float
    user_s: float
    sys_s: float
    maxrss_mb: float
    records: int

    @property
    def cpu_s(self) -> float:
        """User + system CPU seconds."""
        return self.user_s + self.sys_s


# --- command line -------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> tuple[Plan, Path, str]:
    """Read the command line; return the plan, the JSON result path and the label."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run (seconds)")
    parser.add_argument("--repeat", type=int, help="runs per measurement (medians reported)")
    parser.add_argument("--latency-ms", type=float, help="simulator latency of measurement 2")
    parser.add_argument("--parallel", type=int, help="max_parallel_tasks compared with 1")
    parser.add_argument("--page-size", type=int, help="page size of measurements 1 and 3")
    parser.add_argument(
        "--scale-sizes",
        type=_sizes,
        help="task counts of measurement 4, comma-separated (at least 2; default 200,2000,10000)",
    )
    parser.add_argument("--pairs", type=int, help="paired runs of measurement 5")
    parser.add_argument("--out", type=Path, help="JSON result file (default: output/bench/)")
    parser.add_argument("--label", default="", help="a note printed with the results")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else Plan()
    overrides = {
        "repeat": args.repeat,
        "latency_ms": args.latency_ms,
        "parallel": args.parallel,
        "page_size": args.page_size,
        "scale_sizes": args.scale_sizes,
        "pairs": args.pairs,
    }
    plan = dataclasses.replace(plan, **{k: v for k, v in overrides.items() if v is not None})
    if min(plan.repeat, plan.parallel, plan.page_size, plan.pairs) < 1:
        parser.error("--repeat, --parallel, --page-size and --pairs must be >= 1")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return plan, args.out or ROOT / "output" / "bench" / f"bench-{stamp}.json", args.label


def _sizes(text: str) -> tuple[int, ...]:
    """`--scale-sizes 200,2000,10000`: at least two task counts, each >= 1."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of task counts: {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError("give at least two task counts, each >= 1")
    return sizes


# --- processes ----------------------------------------------------------------------------


@contextmanager
def simulator(
    cases: Sequence[int], page_size: int | None, latency_ms: float, log: Path
) -> Iterator[str]:
    """Run `python -m centaur_sim` on a free port as a separate process; yield its URL.

    Without `page_size` the simulator keeps the API's default (100 cases per page).
    """
    options = ["--tasks", str(len(cases)), "--first-task-id", str(FIRST_TASK_ID)]
    same = len(set(cases)) == 1
    options += ["--cases", str(cases[0]) if same else ",".join(map(str, cases))]
    if page_size is not None:
        options += ["--page-size", str(min(page_size, 1000))]
        options += ["--max-limit", str(max(page_size, 1000))]
    options += ["--latency-ms", str(latency_ms), "--seed", "42"]
    try:
        with sim_process.running(options, log, cwd=ROOT, start_timeout=SIM_START_TIMEOUT) as url:
            yield url
    except sim_process.SimulatorStartError as error:
        raise BenchError(str(error)) from None


def run_child(command: list[str], out: Path, timeout: float) -> ChildRun:
    """Run a command with stdout to `out`; return its own wall, CPU and peak RSS."""
    err = out.with_suffix(".err")
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        watchdog.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = err.read_text(encoding="utf-8", errors="replace").splitlines()[-5:]
        raise BenchError(f"{command[1:4]} exited {process.returncode}: " + " | ".join(tail))
    return ChildRun(
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        maxrss_mb=usage.ru_maxrss / 1024,  # Linux: KiB
        records=count_records(out),
    )


def child_env() -> dict[str, str]:
    """This process's environment without `UNSET_VARIABLES`."""
    return {name: value for name, value in os.environ.items() if name not in UNSET_VARIABLES}


def count_records(path: Path) -> int:
    """Count the Singer RECORD lines of a file."""
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.startswith(RECORD_PREFIXES))


@dataclass(frozen=True)
class OutputScan:
    """What a run wrote: RECORD lines per stream, its STATE messages, its log lines."""

    records: dict[str, int]
    state_messages: int
    #: Bytes of every STATE line written, newlines included.
    state_bytes: int
    #: The last STATE line (its bytes count as the final STATE's size).
    final_state: bytes
    log_lines: int
    info_lines: int

    @property
    def final_state_bytes(self) -> int:
        """Size of the last STATE line, newline included."""
        return len(self.final_state)

    def final_partitions(self, stream: str) -> list[dict[str, Any]]:
        """The partitions of `stream` in the last STATE."""
        if not self.final_state:
            return []
        value = json.loads(self.final_state)["value"]
        partitions = value.get("bookmarks", {}).get(stream, {}).get("partitions", [])
        return list(partitions)


_STREAM_FIELD = re.compile(rb'"stream": ?"([^"]*)"')
#: The SDK's log format: `time | LEVEL | logger | message`.
_INFO_FIELD = b"| INFO "


def scan_output(out: Path, err: Path) -> OutputScan:
    """Count a run's RECORD lines per stream and its STATE lines and bytes; count its log."""
    records: Counter[str] = Counter()
    states = state_bytes = 0
    final = b""
    with out.open("rb") as lines:
        for line in lines:
            if line.startswith(RECORD_PREFIXES):
                match = _STREAM_FIELD.search(line, 0, 200)
                records[match.group(1).decode() if match else "?"] += 1
            elif line.startswith(STATE_PREFIXES):
                states += 1
                state_bytes += len(line)
                final = line
    with err.open("rb") as log:
        log_lines = info_lines = 0
        for line in log:
            log_lines += 1
            info_lines += _INFO_FIELD in line
    return OutputScan(dict(records), states, state_bytes, final, log_lines, info_lines)


# --- the commands measured ----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where the measured commands go: a running simulator and a scratch directory."""

    plan: Plan
    url: str
    workdir: Path

    @property
    def catalog(self) -> Path:
        """The catalog selecting `STREAM` only (written by `select_stream`)."""
        return self.workdir / "catalog.json"

    def tap(self, config: Path) -> list[str]:
        """`python -m tap_centaur --config CONFIG --catalog CATALOG`."""
        command = [sys.executable, "-m", "tap_centaur", "--config", str(config)]
        return [*command, "--catalog", str(self.catalog)]

    def config(
        self, name: str, ids: Sequence[int], page_size: int, parallel: int | None = None
    ) -> Path:
        """Write a tap config file (the floor client reads the same one); return its path.

        Without `parallel`, max_parallel_tasks is left to the tap's default.
        """
        config: dict[str, Any] = {**CREDENTIALS, "api_url": self.url, "task_ids": list(ids)}
        config["page_size"] = page_size
        if parallel is not None:
            config["max_parallel_tasks"] = parallel
        path = self.workdir / f"{name}.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        return path

    def user_tap(self, config: Path) -> list[str]:
        """`python -m tap_centaur --config CONFIG`: every default stream, as a user runs it."""
        return [sys.executable, "-m", "tap_centaur", "--config", str(config)]

    def user_config(
        self, name: str, ids: Sequence[int] | None = None, parallel: int | None = None
    ) -> Path:
        """A config of api_url and credentials, plus `task_ids` and `max_parallel_tasks` if given.

        Every other setting keeps the tap's default (page size: the API's).
        """
        config: dict[str, Any] = {**CREDENTIALS, "api_url": self.url}
        if ids is not None:
            config["task_ids"] = list(ids)
        if parallel is not None:
            config["max_parallel_tasks"] = parallel
        path = self.workdir / f"{name}.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        return path

    def run_scanned(
        self, command: list[str], expected: dict[str, int]
    ) -> tuple[ChildRun, OutputScan]:
        """Run a command once; check its RECORD lines per stream (`expected`); scan its output."""
        out = self.workdir / "stdout.jsonl"
        run = run_child(command, out, self.plan.timeout)
        scan = scan_output(out, out.with_suffix(".err"))
        out.unlink()
        for stream, count in expected.items():
            if scan.records.get(stream, 0) != count:
                raise BenchError(
                    f"{command[1:3]} emitted {scan.records.get(stream, 0)} {stream} records, "
                    f"not {count}"
                )
        return run, scan

    def run(self, command: list[str], expected: int) -> ChildRun:
        """Run a command once; check that it emitted `expected` records."""
        out = self.workdir / "stdout.jsonl"
        run = run_child(command, out, self.plan.timeout)
        out.unlink()
        if run.records != expected:
            raise BenchError(f"{command[1:3]} emitted {run.records} records, not {expected}")
        return run

    def repeat(self, command: list[str], expected: int) -> list[ChildRun]:
        """Run a command `plan.repeat` times."""
        return [self.run(command, expected) for _ in range(self.plan.repeat)]


def floor_command(config: Path, threads: int = 1) -> list[str]:
    """`python scripts/floor_client.py --config CONFIG --threads N`."""
    return [sys.executable, str(FLOOR_CLIENT), "--config", str(config), "--threads", str(threads)]


def task_ids(start: int, count: int) -> list[int]:
    """`count` consecutive task ids from `start`."""
    return list(range(start, start + count))


def median(runs: Sequence[ChildRun], field: str) -> float:
    """The median of one field (or property) over runs."""
    return statistics.median(float(getattr(run, field)) for run in runs)


def summary(runs: Sequence[ChildRun]) -> dict[str, Any]:
    """Medians plus every run, for the JSON file."""
    fields = ("wall_s", "cpu_s", "user_s", "sys_s", "maxrss_mb")
    return {
        "median": {field: round(median(runs, field), 4) for field in fields},
        "runs": [{field: round(float(getattr(run, field)), 4) for field in fields} for run in runs],
    }


def verdict(ratio: float, target: float) -> dict[str, Any]:
    """The ratio, its target and whether it is met."""
    return {"ratio": ratio, "target": target, "met": ratio <= target}


# --- the three measurements ---------------------------------------------------------------


def zero_latency_layout(plan: Plan) -> dict[str, list[int]]:
    """Task ids of the zero-latency simulator: CPU, small and large memory, empty tasks."""
    layout, start = {}, FIRST_TASK_ID
    for name, count in (
        ("cpu", plan.cpu_tasks),
        ("mem_small", plan.mem_tasks),
        ("mem_large", plan.mem_tasks),
        ("startup", plan.startup_tasks),
    ):
        layout[name] = task_ids(start, count)
        start += count
    return layout


def zero_latency_cases(plan: Plan) -> list[int]:
    """Cases per task of the zero-latency simulator, in `zero_latency_layout` order."""
    small, large = plan.mem_small // plan.mem_tasks, plan.mem_large // plan.mem_tasks
    return (
        [plan.cpu_cases] * plan.cpu_tasks
        + [small] * plan.mem_tasks
        + [large] * plan.mem_tasks
        + [0] * plan.startup_tasks
    )


def select_stream(target: Target, ids: list[int]) -> None:
    """Discover the tap's catalog and select `STREAM` alone in it (other streams add requests)."""
    config = target.config("discover", ids, target.plan.page_size)
    command = [sys.executable, "-m", "tap_centaur", "--config", str(config), "--discover"]
    done = subprocess.run(
        command, cwd=ROOT, env=child_env(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"tap discovery exited {done.returncode}: {done.stderr[-500:]}")
    catalog = json.loads(done.stdout)
    for stream in catalog["streams"]:
        for entry in stream.get("metadata", []):
            if not entry.get("breadcrumb"):
                entry["metadata"]["selected"] = stream["tap_stream_id"] == STREAM
    if STREAM not in {stream["tap_stream_id"] for stream in catalog["streams"]}:
        raise BenchError(f"the tap's catalog has no {STREAM} stream")
    target.catalog.write_text(json.dumps(catalog), encoding="utf-8")


def warm_up(target: Target, ids: list[int]) -> None:
    """Run the tap and the floor client once, unmeasured (bytecode and disk caches)."""
    config = target.config("warm-up", ids, target.plan.page_size)
    for command in (target.tap(config), floor_command(config)):
        run_child(command, target.workdir / "warm-up.jsonl", target.plan.timeout)


def measure_startup(target: Target, ids: list[int]) -> dict[str, Any]:
    """The tap's fixed cost: a sync of empty tasks at zero latency (start, login, exit)."""
    config = target.config("startup", ids, target.plan.page_size)
    return {"tasks": len(ids), **summary(target.repeat(target.tap(config), 0))}


def measure_floor_startup(target: Target, ids: list[int]) -> dict[str, Any]:
    """The floor client's fixed cost, measured as the tap's."""
    config = target.config("startup", ids, target.plan.page_size)
    return {"tasks": len(ids), **summary(target.repeat(floor_command(config), 0))}


def measure_cpu(target: Target, ids: list[int]) -> dict[str, Any]:
    """Measurement 1: CPU seconds of the tap and of the floor client on the same pages."""
    plan = target.plan
    config = target.config("cpu", ids, plan.page_size)
    expected = plan.cpu_tasks * plan.cpu_cases
    tap, floor = [], []
    for _ in range(plan.repeat):  # interleaved, so drifts in machine load hit both alike
        tap.append(target.run(target.tap(config), expected))
        floor.append(target.run(floor_command(config), expected))
    tap_cpu, floor_cpu = median(tap, "cpu_s"), median(floor, "cpu_s")
    return {
        "records": expected,
        "tap": summary(tap),
        "floor": summary(floor),
        "tap_us_per_record": tap_cpu / expected * 1e6,
        "floor_us_per_record": floor_cpu / expected * 1e6,
        **verdict(tap_cpu / floor_cpu, TARGETS["cpu_ratio"]),
    }


def measure_memory(target: Target, layout: dict[str, list[int]]) -> dict[str, Any]:
    """Measurement 3: peak RSS of the tap syncing a small and a large number of records."""
    plan = target.plan
    result: dict[str, Any] = {}
    for name, records in (("small", plan.mem_small), ("large", plan.mem_large)):
        config = target.config(f"mem-{name}", layout[f"mem_{name}"], plan.page_size)
        expected = records // plan.mem_tasks * plan.mem_tasks
        result[name] = {
            "records": expected,
            **summary(target.repeat(target.tap(config), expected)),
        }
    peaks = [result[name]["median"]["maxrss_mb"] for name in ("large", "small")]
    return {**result, **verdict(peaks[0] / peaks[1], TARGETS["memory_ratio"])}


def measure_latency(target: Target, startup_s: float, floor_startup_s: float) -> dict[str, Any]:
    """Measurement 2: wall time with parallelism 1 and N against the critical path.

    The floor client with N threads is the reference: what a bare `requests` client reading
    the tasks in parallel needs from this simulator and machine.
    """
    plan = target.plan
    ids = task_ids(FIRST_TASK_ID, plan.lat_tasks)
    expected = plan.lat_tasks * plan.lat_cases
    critical = plan.lat_pages * plan.latency_ms / 1000
    result: dict[str, Any] = {
        "pages_per_task": plan.lat_pages,
        "records": expected,
        "critical_path_s": critical,
        "serial_path_s": critical * plan.lat_tasks,
        "startup_s": startup_s,
    }
    for parallel in sorted({1, plan.parallel}):
        config = target.config(f"lat-{parallel}", ids, plan.lat_page_size, parallel)
        runs = target.repeat(target.tap(config), expected)
        wall = median(runs, "wall_s")
        result[f"parallel_{parallel}"] = {
            **summary(runs),
            "ratio": (wall - startup_s) / critical,
            "ratio_with_startup": wall / critical,
        }
    config = target.config("lat-floor", ids, plan.lat_page_size)
    runs = target.repeat(floor_command(config, plan.parallel), expected)
    result["floor"] = {
        **summary(runs),
        "threads": plan.parallel,
        "startup_s": floor_startup_s,
        "ratio": (median(runs, "wall_s") - floor_startup_s) / critical,
    }
    ratio = result[f"parallel_{plan.parallel}"]["ratio"]
    return {**result, **verdict(ratio, TARGETS["latency_ratio"])}


def measure_scale(plan: Plan, workdir: Path) -> dict[str, Any]:
    """Measurement 4: discovery over `scale_sizes` tasks of one case each, as a user runs it.

    One simulator per size (discovery reads every task it lists); the tap with api_url and
    credentials only. Per size: wall, CPU, peak RSS, STATE messages and bytes against the
    final STATE's, log lines. Every run must emit each task's case and each task, and end
    with a STATE that bookmarks every task.
    """
    result: dict[str, Any] = {"sizes": list(plan.scale_sizes), "by_size": {}}
    for number, size in enumerate(plan.scale_sizes):
        _progress(f"scale, {size:,} tasks")
        with simulator([1] * size, None, 0, workdir / f"sim-scale-{size}.log") as url:
            target = Target(plan, url, workdir)
            command = target.user_tap(target.user_config(f"scale-{size}"))
            expected = {STREAM: size, "tasks": size}
            if number == 0 and plan.warm_ups:  # bytecode and disk caches, as for the others
                target.run_scanned(command, expected)
            runs = [_scale_run(target, command, size, expected) for _ in range(plan.repeat)]
        result["by_size"][str(size)] = {"tasks": size, **_scale_summary(runs)}
    small, middle = (result["by_size"][str(size)]["median"] for size in plan.scale_sizes[:2])
    result["state_target"] = {
        "tasks": plan.scale_sizes[1],
        **verdict(middle["state_ratio"], TARGETS["scale_state_ratio"]),
    }
    result["cpu_target"] = {
        "tasks": list(plan.scale_sizes[:2]),
        **verdict(middle["cpu_s"] / small["cpu_s"], TARGETS["scale_cpu_ratio"]),
    }
    return result


SCALE_FIELDS = (
    "wall_s",
    "cpu_s",
    "user_s",
    "sys_s",
    "maxrss_mb",
    "state_messages",
    "state_bytes",
    "final_state_bytes",
    "state_ratio",
    "log_lines",
    "info_lines",
)


def _scale_run(
    target: Target, command: list[str], size: int, expected: dict[str, int]
) -> dict[str, float]:
    run, scan = target.run_scanned(command, expected)
    partitions = scan.final_partitions(STREAM)
    bookmarked = sum(1 for partition in partitions if partition.get("replication_key_value"))
    if len(partitions) != size or bookmarked != size:
        raise BenchError(
            f"the final STATE has {len(partitions)} {STREAM} partitions, {bookmarked} with a "
            f"bookmark, for {size} tasks"
        )
    return {
        "wall_s": run.wall_s,
        "cpu_s": run.cpu_s,
        "user_s": run.user_s,
        "sys_s": run.sys_s,
        "maxrss_mb": run.maxrss_mb,
        "state_messages": scan.state_messages,
        "state_bytes": scan.state_bytes,
        "final_state_bytes": scan.final_state_bytes,
        "state_ratio": scan.state_bytes / scan.final_state_bytes,
        "log_lines": scan.log_lines,
        "info_lines": scan.info_lines,
    }


def _scale_summary(runs: Sequence[dict[str, float]]) -> dict[str, Any]:
    return {
        "median": {
            field: round(statistics.median(run[field] for run in runs), 4) for field in SCALE_FIELDS
        },
        "runs": [{field: round(run[field], 4) for field in SCALE_FIELDS} for run in runs],
    }


def measure_user_wall(plan: Plan, workdir: Path) -> dict[str, Any]:
    """Measurement 5: the tap as a user runs it against the floor client, pair by pair.

    `user_tasks` tasks of `user_cases` cases at the API's default page size and
    `latency_ms`; the tap with api_url, credentials, task_ids and max_parallel_tasks N
    (default streams, start-up included), the floor client with N threads. In each pair
    both run back to back (the order alternates), so a drift of the machine's speed hits
    both; the ratio is tap wall / floor wall per pair.
    """
    ids = task_ids(FIRST_TASK_ID, plan.user_tasks)
    expected = {STREAM: plan.user_tasks * plan.user_cases}
    cases = [plan.user_cases] * plan.user_tasks
    with simulator(cases, None, plan.latency_ms, workdir / "sim-user.log") as url:
        target = Target(plan, url, workdir)
        config = target.user_config("user", ids, plan.parallel)
        commands = {"tap": target.user_tap(config), "floor": floor_command(config, plan.parallel)}
        for command in commands.values() if plan.warm_ups else ():  # unmeasured
            target.run_scanned(command, expected)
        pairs: list[dict[str, Any]] = []
        for number in range(plan.pairs):
            order = ("tap", "floor") if number % 2 == 0 else ("floor", "tap")
            walls = {name: target.run_scanned(commands[name], expected)[0] for name in order}
            pairs.append(
                {
                    "tap_wall_s": round(walls["tap"].wall_s, 4),
                    "floor_wall_s": round(walls["floor"].wall_s, 4),
                    "tap_cpu_s": round(walls["tap"].cpu_s, 4),
                    "floor_cpu_s": round(walls["floor"].cpu_s, 4),
                    "ratio": round(walls["tap"].wall_s / walls["floor"].wall_s, 4),
                    "first": order[0],
                }
            )
    ratios = [pair["ratio"] for pair in pairs]
    critical = plan.user_pages * plan.latency_ms / 1000
    return {
        "tasks": plan.user_tasks,
        "pages_per_task": plan.user_pages,
        "records": expected[STREAM],
        "threads": plan.parallel,
        "critical_path_s": critical,
        "pairs": pairs,
        "tap_wall_s": _spread([pair["tap_wall_s"] for pair in pairs]),
        "floor_wall_s": _spread([pair["floor_wall_s"] for pair in pairs]),
        "ratio_spread": _spread(ratios),
        "pairs_above_target": sum(ratio > TARGETS["user_wall_ratio"] for ratio in ratios),
        **verdict(statistics.median(ratios), TARGETS["user_wall_ratio"]),
    }


def _spread(values: Sequence[float]) -> dict[str, float]:
    """Minimum, median and maximum."""
    return {
        "min": round(min(values), 4),
        "median": round(statistics.median(values), 4),
        "max": round(max(values), 4),
    }


# --- the machine and the report -----------------------------------------------------------


def machine() -> dict[str, Any]:
    """Cores, CPU model, Python, package versions, commit and load of this machine."""
    return {
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "singer_sdk": _version("singer-sdk"),
        "tap_centaur": _version("tap-centaur"),
        "commit": _commit(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "platform": platform.platform(),
        "speed_probe_s": speed_probe(),
    }


def speed_probe() -> float:
    """CPU seconds of a fixed pure-Python loop, to compare runs on a machine whose speed drifts.

    On a shared VM the same code can take 40% longer from one hour to the next; the probe,
    taken before and after the measurements, shows whether a run was made in a slow phase.
    """
    started = time.process_time()
    total = 0
    for number in range(SPEED_PROBE_STEPS):
        total += number
    return round(time.process_time() - started, 3)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def settings_lines(plan: Plan) -> list[str]:
    """The settings used, one line per measurement."""
    return [
        f"repeat {plan.repeat} (medians); simulator in its own process, gzip on",
        f"CPU: {plan.cpu_tasks} tasks x {plan.cpu_cases:,} cases, page size {plan.page_size}, "
        "latency 0, the tap's default max_parallel_tasks",
        f"latency: {plan.lat_tasks} tasks x {plan.lat_cases:,} cases ({plan.lat_pages} pages), "
        f"page size {plan.lat_page_size}, latency {plan.latency_ms:g} ms; startup = "
        f"{plan.startup_tasks} empty tasks at latency 0",
        f"memory: {plan.mem_small:,} and {plan.mem_large:,} records over {plan.mem_tasks} "
        f"tasks each, page size {plan.page_size}, latency 0, default max_parallel_tasks",
        f"scale: discovery over {', '.join(f'{size:,}' for size in plan.scale_sizes)} tasks "
        "of 1 case each, latency 0, the tap with api_url and credentials only (default "
        "streams and settings)",
        f"user wall: {plan.user_tasks} tasks x {plan.user_cases:,} cases ({plan.user_pages} "
        f"pages at the API's default page size), latency {plan.latency_ms:g} ms, {plan.pairs} "
        f"pairs; the tap with task_ids and max_parallel_tasks {plan.parallel} (default "
        f"streams, start-up included) vs the floor client with {plan.parallel} threads",
    ]


Row = tuple[str, str, str, str, str]


def table_rows(results: dict[str, Any]) -> list[Row]:
    """(measurement, tap-centaur, limit or reference, ratio, target) rows."""
    return [
        *_cpu_rows(results["cpu"]),
        *_latency_rows(results["latency"], results["startup"], results["plan"]["parallel"]),
        *_memory_rows(results["memory"]),
        *_scale_rows(results["scale"]),
        *_user_wall_rows(results["user_wall"]),
    ]


def _cpu_rows(cpu: dict[str, Any]) -> list[Row]:
    tap, floor = cpu["tap"]["median"]["cpu_s"], cpu["floor"]["median"]["cpu_s"]
    return [
        (
            f"CPU, {cpu['records']:,} records",
            f"{tap:.2f} s = {cpu['tap_us_per_record']:.1f} us/rec",
            f"floor {floor:.2f} s = {cpu['floor_us_per_record']:.1f} us/rec",
            f"{cpu['ratio']:.2f}",
            _target(cpu),
        )
    ]


def _latency_rows(lat: dict[str, Any], startup: dict[str, Any], high: int) -> list[Row]:
    start = startup["median"]
    rows: list[Row] = [
        (
            "startup (empty sync)",
            f"{start['wall_s']:.2f} s wall, {start['cpu_s']:.2f} s CPU",
            "",
            "",
            "",
        )
    ]
    for parallel in sorted({1, high}):
        run = lat[f"parallel_{parallel}"]
        wall = run["median"]["wall_s"]
        rows.append(
            (
                f"wall, max_parallel_tasks {parallel}",
                f"{wall:.2f} s, {wall - start['wall_s']:.2f} s net of startup",
                f"critical path {lat['critical_path_s']:.2f} s",
                f"{run['ratio']:.2f}",
                _target(lat) if parallel == high else "",
            )
        )
    floor = lat["floor"]
    wall = floor["median"]["wall_s"]
    rows.append(
        (
            f"  reference: floor client, {floor['threads']} threads",
            f"{wall:.2f} s, {wall - floor['startup_s']:.2f} s net of its startup",
            f"critical path {lat['critical_path_s']:.2f} s",
            f"{floor['ratio']:.2f}",
            "",
        )
    )
    return rows


def _memory_rows(mem: dict[str, Any]) -> list[Row]:
    small, large = mem["small"], mem["large"]
    return [
        (f"peak RSS, {small['records']:,} records", _mb(small), "", "", ""),
        (
            f"peak RSS, {large['records']:,} records",
            _mb(large),
            f"{_mb(small)} at {small['records']:,}",
            f"{mem['ratio']:.2f}",
            _target(mem),
        ),
    ]


def _scale_rows(scale: dict[str, Any]) -> list[Row]:
    state, cpu = scale["state_target"], scale["cpu_target"]
    at = scale["by_size"][str(state["tasks"])]["median"]
    small, middle = (scale["by_size"][str(size)]["median"] for size in cpu["tasks"])
    return [
        (
            f"STATE bytes, {state['tasks']:,} tasks",
            f"{at['state_bytes']:,.0f} B in {at['state_messages']:.0f} STATE",
            f"final STATE {at['final_state_bytes']:,.0f} B",
            f"{state['ratio']:.2f}",
            _target(state),
        ),
        (
            f"CPU, {cpu['tasks'][1]:,} tasks vs {cpu['tasks'][0]:,}",
            f"{middle['cpu_s']:.2f} s",
            f"{small['cpu_s']:.2f} s at {cpu['tasks'][0]:,} tasks",
            f"{cpu['ratio']:.2f}",
            _target(cpu),
        ),
    ]


def _user_wall_rows(user: dict[str, Any]) -> list[Row]:
    tap, floor, spread = user["tap_wall_s"], user["floor_wall_s"], user["ratio_spread"]
    return [
        (
            f"wall as run, {user['tasks']} tasks x {user['pages_per_task']} pages",
            f"{tap['median']:.2f} s ({tap['min']:.2f}-{tap['max']:.2f})",
            f"floor client, {user['threads']} threads: {floor['median']:.2f} s "
            f"({floor['min']:.2f}-{floor['max']:.2f})",
            f"{user['ratio']:.3f} ({spread['min']:.3f}-{spread['max']:.3f}, "
            f"{len(user['pairs'])} pairs)",
            _target(user),
        )
    ]


SCALE_HEADER = (
    "tasks",
    "wall s",
    "CPU s",
    "CPU ms/task",
    "peak RSS MB",
    "STATE msgs",
    "STATE bytes",
    "final STATE bytes",
    "total/final",
    "INFO lines",
)


def scale_table_rows(scale: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per size of measurement 4 (medians)."""
    rows: list[tuple[str, ...]] = []
    for size in scale["sizes"]:
        run = scale["by_size"][str(size)]["median"]
        rows.append(
            (
                f"{size:,}",
                f"{run['wall_s']:.2f}",
                f"{run['cpu_s']:.2f}",
                f"{run['cpu_s'] / size * 1000:.2f}",
                f"{run['maxrss_mb']:.1f}",
                f"{run['state_messages']:.0f}",
                f"{run['state_bytes']:,.0f}",
                f"{run['final_state_bytes']:,.0f}",
                f"{run['state_ratio']:.2f}",
                f"{run['info_lines']:.0f}",
            )
        )
    return rows


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell, ` | ` between them, a rule under the header."""
    everything = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(row[i]) for row in everything) for i in range(len(header))]
    lines = []
    for index, row in enumerate(everything):
        lines.append(
            " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index == 0:
            lines.append("-+-".join("-" * width for width in widths))
    return lines


def _mb(result: dict[str, Any]) -> str:
    return f"{result['median']['maxrss_mb']:.1f} MB"


def _target(result: dict[str, Any]) -> str:
    return f"<= {result['target']:.2f} {'met' if result['met'] else 'MISSED'}"


def render(results: dict[str, Any]) -> str:
    """The report: machine, settings, and the results table."""
    info, plan = results["machine"], Plan(**results["plan"])
    lines = [
        f"tap-centaur benchmark, {results['finished_at']} {results['label']}".rstrip(),
        f"machine: {info['cores']} cores, {info['cpu_model']}, Python {info['python']}, "
        f"singer-sdk {info['singer_sdk']}, tap-centaur {info['tap_centaur']} "
        f"(commit {info['commit']}), load average {info['load_average']}",
        f"speed probe ({SPEED_PROBE_STEPS:,}-step Python loop): {info['speed_probe_s']:.2f} s "
        f"before, {results['speed_probe_end_s']:.2f} s after the measurements",
        *(f"settings: {line}" for line in settings_lines(plan)),
        "",
    ]
    header = ("measurement", "tap-centaur", "limit / reference", "ratio", "target")
    lines += _table(header, table_rows(results))
    lines += ["", "scale: discovery as a user runs it (medians)"]
    lines += _table(SCALE_HEADER, scale_table_rows(results["scale"]))
    lines.append("")
    lines.append(
        f"(peak RSS of this bench process: {results['bench_maxrss_mb']:.1f} MB; a child's "
        "ru_maxrss can include it, so it must stay well below the tap's)"
    )
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------


def run_all(plan: Plan, workdir: Path) -> dict[str, Any]:
    """Start the simulators and take the three measurements."""
    results: dict[str, Any] = {"machine": machine(), "plan": dataclasses.asdict(plan)}
    layout = zero_latency_layout(plan)
    with simulator(zero_latency_cases(plan), plan.page_size, 0, workdir / "sim0.log") as url:
        target = Target(plan, url, workdir)
        select_stream(target, layout["startup"])
        if plan.warm_ups:
            warm_up(target, layout["cpu"][:1])
        _progress("startup")
        results["startup"] = measure_startup(target, layout["startup"])
        results["floor_startup"] = measure_floor_startup(target, layout["startup"])
        _progress("CPU")
        results["cpu"] = measure_cpu(target, layout["cpu"])
        _progress("memory")
        results["memory"] = measure_memory(target, layout)
    startup = results["startup"]["median"]["wall_s"]
    floor_startup = results["floor_startup"]["median"]["wall_s"]
    lat_cases = [plan.lat_cases] * plan.lat_tasks
    with simulator(lat_cases, plan.lat_page_size, plan.latency_ms, workdir / "sim.log") as url:
        _progress("latency")
        results["latency"] = measure_latency(Target(plan, url, workdir), startup, floor_startup)
    results["scale"] = measure_scale(plan, workdir)
    _progress("wall as a user runs it")
    results["user_wall"] = measure_user_wall(plan, workdir)
    results["speed_probe_end_s"] = speed_probe()
    results["bench_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["finished_at"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return results


def _progress(what: str) -> None:
    print(f"bench: measuring {what}...", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON file."""
    plan, out, label = parse_args(argv)
    for line in settings_lines(plan):
        print(f"bench: {line}", file=sys.stderr)
    try:
        with tempfile.TemporaryDirectory(prefix="tap-centaur-bench-") as workdir:
            results = {"label": label, **run_all(plan, Path(workdir))}
    except BenchError as error:
        print(f"bench: FAILED: {error}", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(render(results))
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
