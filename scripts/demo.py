"""The Quick-start demo: simulator → `meltano run tap-centaur target-jsonl` → summary.

`make demo` runs this with the Meltano virtualenv's Python after installing the plugins. It:

1. starts the local Centaur simulator (`python -m centaur_sim`) on a free port,
2. runs `meltano run --full-refresh tap-centaur target-jsonl` through the project's meltano.yml,
   pointing the tap at the simulator with TAP_CENTAUR_API_URL and TAP_CENTAUR_TASK_IDS,
3. stops the simulator (also on Ctrl-C or an error),
4. prints the records per task found in the output JSONL file, next to the simulator's own
   count, and where the output files are. It exits non-zero if the counts differ.

target-jsonl appends to `<stream>.jsonl`, so the demo first deletes the *.jsonl files of its
output folder (`output/` unless --output-dir says otherwise).

Credentials come from the environment (TAP_CENTAUR_API_KEY, TAP_CENTAUR_USERNAME,
TAP_CENTAUR_API_PASSWORD); the simulator is started with the same ones. Standard library only.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the simulator is stdlib only: it runs under Meltano's Python
from centaur_sim import process as sim_process  # noqa: E402

CREDENTIALS = {
    "TAP_CENTAUR_API_KEY": "--api-key",
    "TAP_CENTAUR_USERNAME": "--username",
    "TAP_CENTAUR_API_PASSWORD": "--api-password",
}


class DemoError(Exception):
    """A demo step failed; the message says which and where to look."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meltano", default=str(ROOT / ".meltano-venv" / "bin" / "meltano"))
    parser.add_argument("--output-dir", default=str(ROOT / "output"), type=Path)
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--first-task-id", type=int, default=101)
    parser.add_argument("--cases", default="250", help="per task: N, or N1,N2,...")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--extractor", default="tap-centaur")
    parser.add_argument("--loader", default="target-jsonl")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for the run")
    return parser.parse_args(argv)


def simulator_options(args: argparse.Namespace) -> list[str]:
    """The simulator's command-line options: the demo's tasks and credentials."""
    options = ["--tasks", str(args.tasks), "--first-task-id", str(args.first_task_id)]
    options += ["--cases", args.cases, "--seed", str(args.seed)]
    for variable, option in CREDENTIALS.items():
        options += [option, os.environ[variable]]
    return options


def expected_counts(url: str, task_ids: list[int]) -> dict[int, int]:
    """Ask the simulator how many cases each task has (GET /_sim/truth)."""
    counts = {}
    for task_id in task_ids:
        truth_url = f"{url}/_sim/truth?task_id={task_id}"  # http://127.0.0.1 from the simulator
        with urllib.request.urlopen(truth_url, timeout=30) as reply:  # noqa: S310
            counts[task_id] = len(json.load(reply))
    return counts


def run_meltano(
    args: argparse.Namespace, url: str, task_ids: list[int], log_path: Path
) -> tuple[int, float]:
    """Run the pipeline; return its exit code and duration. The full log goes to `log_path`."""
    env = dict(os.environ)
    env.update(
        {
            "MELTANO_ENVIRONMENT": "dev",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "TAP_CENTAUR_API_URL": url,
            "TAP_CENTAUR_TASK_IDS": json.dumps(task_ids),
            "TARGET_JSONL_DESTINATION_PATH": str(args.output_dir),
            "TARGET_JSONL_DO_TIMESTAMP_FILE": "false",
        }
    )
    command = [args.meltano, "run", "--full-refresh", args.extractor, args.loader]
    print(f"$ meltano run --full-refresh {args.extractor} {args.loader}   (log: {log_path})")
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        try:
            result = subprocess.run(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=args.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            print(f"demo: meltano run did not finish within {args.timeout:.0f} s")
            return 124, time.monotonic() - started
    return result.returncode, time.monotonic() - started


def count_records(path: Path) -> collections.Counter[int]:
    """Count the records of each task_id in a target-jsonl file."""
    counts: collections.Counter[int] = collections.Counter()
    if path.exists():
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    counts[int(json.loads(line)["task_id"])] += 1
    return counts


def tail(path: Path, lines: int = 30) -> str:
    """Return the last lines of a log file."""
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit code."""
    args = parse_args(argv)
    missing = [name for name in CREDENTIALS if not os.environ.get(name)]
    if missing:
        print(f"demo: set {', '.join(missing)} (make demo sets the simulator's demo ones)")
        return 2
    if not Path(args.meltano).exists():
        print(f"demo: no Meltano at {args.meltano}; run `make demo`, which installs it")
        return 2
    args.output_dir = args.output_dir.resolve()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    jsonl = args.output_dir / "task_results.jsonl"
    for stale in args.output_dir.glob("*.jsonl"):
        stale.unlink()  # target-jsonl appends to <stream>.jsonl: start from empty files
    task_ids = [args.first_task_id + i for i in range(args.tasks)]

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    sim_log = args.output_dir / "simulator.log"
    meltano_log = args.output_dir / "meltano.log"
    try:
        with sim_process.running(simulator_options(args), sim_log, cwd=ROOT) as url:
            print(f"Centaur simulator: {url} (tasks {task_ids})")
            expected = expected_counts(url, task_ids)
            code, seconds = run_meltano(args, url, task_ids, meltano_log)
    except sim_process.SimulatorStartError as error:
        raise DemoError(str(error)) from None
    print("Simulator stopped.")
    if code != 0:
        print(tail(meltano_log))
        print(f"demo: meltano run failed with exit code {code}; full log: {meltano_log}")
        return 1

    got = count_records(jsonl)
    print(f"\nmeltano run finished in {seconds:.1f} s. Records per task:")
    print(f"  {'task_id':>8}  {'records':>8}  {'simulator':>9}")
    for task_id in task_ids:
        mark = "" if got[task_id] == expected[task_id] else "   <-- MISMATCH"
        print(f"  {task_id:>8}  {got[task_id]:>8}  {expected[task_id]:>9}{mark}")
    print(f"  {'total':>8}  {sum(got.values()):>8}  {sum(expected.values()):>9}")
    print("\nOutput (one JSON record per line, one file per stream):")
    for path in sorted(args.output_dir.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            count = sum(1 for line in lines if line.strip())
        print(f"  {path}  ({count} records)")
    print(f"Logs:   {meltano_log}")
    if dict(got) != {t: n for t, n in expected.items() if n}:
        print("demo: the output does not match the simulator's cases")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DemoError as error:
        print(f"demo: {error}")
        sys.exit(1)
    except KeyboardInterrupt:
        print("demo: interrupted")
        sys.exit(130)
