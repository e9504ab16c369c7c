"""Command line: `python -m centaur_sim [options]` serves until SIGTERM or SIGINT.

One option per `SimConfig` field (`--page-size` for `page_size`, `--no-gzip` for a field that
defaults to true), with its help text from the field's metadata; plus `--fault`,
`--misbehaviour` and `--verbose`.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from centaur_sim.config import FAULT_KINDS, SCRIPTED_KINDS, SimConfig
from centaur_sim.misbehave import MISBEHAVIOURS
from centaur_sim.simulator import Simulator


def parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
    p = argparse.ArgumentParser(
        prog="python -m centaur_sim",
        description="Local simulator of the Centaur Labs API (for testing only).",
    )
    for f in dataclasses.fields(SimConfig):
        flag, options = _option(f)
        p.add_argument(flag, dest=f.name, **options)
    kinds = ", ".join(FAULT_KINDS + SCRIPTED_KINDS)
    p.add_argument("--fault", action="append", default=[], metavar="KIND[:COUNT[:PATH]]",
                   help=f"scripted fault (repeatable): {kinds}")  # fmt: skip
    p.add_argument("--misbehaviour", action="append", default=[], metavar="TASK_ID=KIND",
                   help=f"repeatable: {', '.join(MISBEHAVIOURS)}")  # fmt: skip
    p.add_argument("--verbose", action="store_true", help="log requests to stderr")
    return p


def _option(f: dataclasses.Field[Any]) -> tuple[str, dict[str, Any]]:
    """Return the flag and `add_argument` options of a config field."""
    kind, meta = str(f.type), f.metadata
    flag = meta.get("flag") or "--" + f.name.replace("_", "-")
    default = meta.get("cli_default", f.default)
    shown = "" if default in (None, (), dataclasses.MISSING) else f" (default {default})"
    options: dict[str, Any] = {"default": meta.get("cli_default"), "help": meta["help"] + shown}
    if kind == "bool":
        if f.default:
            return flag.replace("--", "--no-"), {
                "action": "store_false",
                "help": "no: " + meta["help"],
            }
        return flag, {"action": "store_true", "help": meta["help"]}
    options["metavar"] = meta.get("metavar")
    parsers: dict[str, Callable[[str], Any]] = {
        "int | tuple[int, ...]": _cases,
        "tuple[int, ...]": int,
        "float": float,
        "int": int,
    }
    options["type"] = parsers.get(kind) or parsers.get(kind.split(" | ", 1)[0], str)
    if kind.startswith("tuple"):
        options["action"] = "append"
    options["choices"] = meta.get("choices")
    return flag, options


def build(args: argparse.Namespace) -> Simulator:
    """Create the simulator the parsed arguments describe."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(SimConfig)}
    sim = Simulator(
        SimConfig(**{k: v for k, v in values.items() if v is not None}), verbose=args.verbose
    )
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


if __name__ == "__main__":
    sys.exit(main())
