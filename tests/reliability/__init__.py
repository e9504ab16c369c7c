"""The reliability suite of issue 5 (see docs/RELIABILITY.md)."""

from tests.harness import Run, assert_one_clear_error


def assert_refused(runs: dict[str, Run], *fragments: str) -> None:
    """Each run (by log level): exit 2, no output, one ERROR line holding `fragments`, no
    traceback below DEBUG."""
    for level, run in runs.items():
        assert run.exit_code == 2, f"{level}: exit {run.exit_code}\n{run.stderr[-2000:]}"
        assert run.stdout == "", f"{level}: output before the input was checked"
        assert len(run.error_lines) == 1, f"{level}: {run.error_lines}"
        assert_one_clear_error(run, *fragments, traceback_allowed=level == "DEBUG")
        assert "Unexpected error" not in run.stderr
