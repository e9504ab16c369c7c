"""Run `meltano ARGS` for a Dagster op, reporting each line Meltano logs to the run's log.

Started by `PipesSubprocessClient` (meltano_jobs.py) as `python relay.py MELTANO ARGS...`: the
lines also go to this process's stdout (the step's captured output), and those of errors are
reported at ERROR level. SIGINT and SIGTERM (Dagster's run termination) are passed on to
Meltano, which stops its plugins and ends with its own exit code, this script's.
"""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import sys
from types import FrameType

from dagster_pipes import open_dagster_pipes

#: A line logged at ERROR: Meltano's `[error    ]`, or the tap's or a target's own level.
ERROR = re.compile(r"\[error\s*\]|\bERROR\b|\bCRITICAL\b|\bcritical\b")


def main(args: list[str]) -> int:
    """Run the command `args`, report its lines, return its exit code."""
    with open_dagster_pipes() as pipes:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )

        def forward(signum: int, _frame: FrameType | None) -> None:
            process.send_signal(signum)

        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)
        for line in process.stdout or ():
            sys.stdout.write(line)
            text = line.rstrip()
            if text:
                pipes.log.log(logging.ERROR if ERROR.search(text) else logging.INFO, text)
        code = process.wait()
        if code != 0:
            pipes.log.error(f"meltano {' '.join(args[1:])} exited with code {code}")
        return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
