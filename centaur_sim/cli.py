"""Command line: `python -m centaur_sim [options]` serves until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from centaur_sim.config import (
    FAULT_KINDS,
    HAS_NEXT_MODES,
    LAST_PAGE_STYLES,
    MISBEHAVIOURS,
    RETRY_AFTER_STYLES,
    SimConfig,
)
from centaur_sim.simulator import Simulator


def parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
    p = argparse.ArgumentParser(
        prog="python -m centaur_sim",
        description="Local simulator of the Centaur Labs API (for testing only).",
    )
    add = p.add_argument
    add("--host", default="127.0.0.1")
    add("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    add("--tasks", type=int, default=3)
    add("--first-task-id", type=int, default=101)
    add("--tasks-per-project", type=int, default=2, help="projects 7000, 7001, ... (default 2)")
    add("--cases", type=_cases, default=250, help="per task: N, or N1,N2,... (one per task)")
    add("--page-size", type=int, default=100, help="default limit")
    add("--max-limit", type=int, default=1000)
    add("--seed", type=int, default=42)
    add("--api-key", default="demo-api-key")
    add("--username", default="demo@example.com")
    add("--api-password", default="demo-api-password")
    add("--static-token", default=None, help="bearer token accepted without login")
    add("--unsupported-task", type=int, action="append", default=[], help="answers 426")
    add("--extra-fields", action="store_true", help="add review_notes on every other task")
    add("--expose-updated-at", action="store_true", help="add updated_at to records")
    add("--last-page-style", choices=LAST_PAGE_STYLES, default="absent")
    add("--has-next-mode", choices=HAS_NEXT_MODES, default="exact")
    add("--first-sequence-id", type=int, default=1)
    add("--no-gzip", action="store_true")
    add("--gzip-level", type=int, default=1)
    add(
        "--latency-ms",
        type=float,
        default=0.0,
        help="answer each request this long after reading it (the simulator's work included)",
    )
    add("--token-idle-seconds", type=float, default=None)
    add("--token-expiry-requests", type=int, default=None)
    add("--restricted-country", action="store_true")
    add("--fault-rate", action="append", default=[], metavar="KIND=RATE", help=_kinds())
    add("--fault-seed", type=int, default=0)
    add("--fault", action="append", default=[], metavar="KIND[:COUNT[:PATH]]")
    add("--faults-on-login", action="store_true")
    add("--retry-after", type=int, default=1)
    add("--retry-after-style", choices=RETRY_AFTER_STYLES, default="seconds")
    add("--spike-seconds", type=float, default=5.0, help="delay of the timeout fault")
    add("--misbehaviour", action="append", default=[], metavar="TASK_ID=KIND",
        help=f"one of: {', '.join(MISBEHAVIOURS)}")  # fmt: skip
    add("--verbose", action="store_true", help="log requests to stderr")
    return p


def build(args: argparse.Namespace) -> Simulator:
    """Create the simulator the parsed arguments describe."""
    rates = {}
    for item in args.fault_rate:
        kind, _, rate = item.partition("=")
        rates[kind] = float(rate)
    config = SimConfig(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        username=args.username,
        api_password=args.api_password,
        static_token=args.static_token,
        tasks=args.tasks,
        first_task_id=args.first_task_id,
        tasks_per_project=args.tasks_per_project,
        cases=args.cases,
        page_size=args.page_size,
        max_limit=args.max_limit,
        seed=args.seed,
        unsupported_task_ids=tuple(args.unsupported_task),
        extra_fields=args.extra_fields,
        expose_updated_at=args.expose_updated_at,
        last_page_style=args.last_page_style,
        has_next_mode=args.has_next_mode,
        first_sequence_id=args.first_sequence_id,
        gzip=not args.no_gzip,
        gzip_level=args.gzip_level,
        latency_ms=args.latency_ms,
        token_idle_seconds=args.token_idle_seconds,
        token_expiry_requests=args.token_expiry_requests,
        restricted_country=args.restricted_country,
        fault_rates=rates,
        fault_seed=args.fault_seed,
        faults_on_login=args.faults_on_login,
        retry_after=args.retry_after,
        retry_after_style=args.retry_after_style,
        spike_seconds=args.spike_seconds,
    )
    sim = Simulator(config, verbose=args.verbose)
    script = []
    for item in args.fault:
        kind, _, rest = item.partition(":")
        count, _, path = rest.partition(":")
        script.append({"kind": kind, "count": int(count or 1), "path": path or None})
    sim.script_faults(script)
    for item in args.misbehaviour:
        task_id, _, kind = item.partition("=")
        sim.set_misbehaviour(int(task_id), kind)
    return sim


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; print the listening line first."""
    p = parser()
    args = p.parse_args(argv)
    try:
        sim = build(args)
    except (ValueError, KeyError) as error:
        p.error(str(error))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    url = sim.start()
    print(f"centaur-sim listening on {url}", flush=True)
    while not stop.wait(0.2):
        pass
    sim.stop()
    return 0


def _cases(text: str) -> int | tuple[int, ...]:
    parts = [int(part) for part in text.split(",")]
    return parts[0] if len(parts) == 1 else tuple(parts)


def _kinds() -> str:
    return f"repeatable; kinds: {', '.join(FAULT_KINDS)}"


if __name__ == "__main__":
    sys.exit(main())
