"""The one way tests run the tap: `TapRunner.run` (the `tap` fixture), in-process through the
command's entry point (`in_process.py`), or as `python -m tap_centaur` where the process is
what is tested (`process.py`). Either way the output is parsed into a `Run` and checked to hold
no secret (`checks.py`): the suite's credentials, the session tokens its simulators issued,
the run's config's secrets and the test's extra ones.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar

from tests.harness.checks import (
    Run,
    as_emitted,
    assert_no_secrets,
    assert_one_clear_error,
    lower_hex,
    partition_bookmarks,
    premature_bookmarks,
)
from tests.harness.credentials import (
    API_KEY,
    API_PASSWORD,
    SECRETS,
    STATIC_TOKEN,
    USERNAME,
    WRONG_PASSWORD,
    bearer_config,
    login_config,
    secrets_of,
)
from tests.harness.in_process import run_in_process
from tests.harness.process import ENV_PREFIX, SABOTAGE_ENV, Stop, run_subprocess
from tests.harness.sims import LIST, LOGIN, THREE_TASKS, Sim, SimFactory, sim_config

__all__ = [
    "API_KEY",
    "API_PASSWORD",
    "LIST",
    "LOGIN",
    "SABOTAGE_ENV",
    "SECRETS",
    "STATIC_TOKEN",
    "THREE_TASKS",
    "USERNAME",
    "WRONG_PASSWORD",
    "Run",
    "Sim",
    "SimFactory",
    "Stop",
    "TapRunner",
    "as_emitted",
    "assert_no_secrets",
    "assert_one_clear_error",
    "at_levels",
    "bearer_config",
    "login_config",
    "lower_hex",
    "partition_bookmarks",
    "premature_bookmarks",
    "sim_config",
]

T = TypeVar("T")


def at_levels(run: Callable[[str], T], levels: Iterable[str] = ("INFO", "DEBUG")) -> dict[str, T]:
    """`run(level)` for each level: at once when runs are subprocesses, else in turn."""
    levels = list(levels)
    if not os.environ.get(SABOTAGE_ENV):
        return {level: run(level) for level in levels}
    with ThreadPoolExecutor(max_workers=len(levels)) as pool:
        futures = {level: pool.submit(run, level) for level in levels}
        return {level: future.result() for level, future in futures.items()}


class TapRunner:
    """Runs the tap in numbered folders under `tmp_path`, checking each run for secrets."""

    def __init__(self, tmp_path: Path, sims: SimFactory) -> None:
        self.tmp_path = tmp_path
        self.sims = sims
        self._folders = 0
        self._lock = threading.Lock()

    def run(
        self,
        config: dict[str, Any],
        state: dict[str, Any] | None = None,
        *,
        log_level: str = "INFO",
        args: Iterable[str] = (),
        config_in_env: bool = False,
        env: Mapping[str, str] | None = None,
        in_subprocess: bool = False,
        stop: Stop | None = None,
        stdout: IO[Any] | None = None,
        timeout: float = 120,
        extra_secrets: Iterable[str] = (),
    ) -> Run:
        """Run the tap to its end (or to `stop`) and check that it leaked no secret.

        With `config_in_env`, the settings are TAP_CENTAUR_* variables (`--config ENV`). The
        run is a subprocess with `in_subprocess`, `stop`, `stdout` (a file, not a pipe) or a
        sabotage; in-process, pytest-timeout ends a stuck run.
        """
        discovery = "--discover" in args
        run_dir = self._run_dir("discover" if discovery else "run")
        argv, run_env = self._command(run_dir, config, state, config_in_env, args)
        run_env = {f"{ENV_PREFIX}LOGLEVEL": log_level, **run_env, **(env or {})}
        if in_subprocess or stop or stdout or os.environ.get(SABOTAGE_ENV):
            run = run_subprocess(argv, run_env, run_dir, stop, timeout, stdout=stdout)
        else:
            run = run_in_process(argv, run_env)
            (run_dir / "stderr.log").write_text(run.stderr)
        if stop is None:
            assert not run.partial_tail, f"the output ends mid-line: {run.partial_tail[-200:]!r}"
        (run_dir / "stdout.jsonl").write_text(run.stdout)
        if not discovery and run.final_state is not None:
            run.state_file = run_dir / "state-out.json"
            run.state_file.write_text(json.dumps(run.final_state))
        secrets = [*SECRETS, *self.sims.issued_tokens, *secrets_of(config), *extra_secrets]
        assert_no_secrets(run, secrets)
        return run

    @property
    def count(self) -> int:
        """Runs so far (discoveries not counted)."""
        return len(list(self.tmp_path.glob("run-*")))

    def run_at_levels(
        self, config: dict[str, Any], levels: Iterable[str] = ("INFO", "DEBUG"), **kwargs: Any
    ) -> dict[str, Run]:
        return at_levels(lambda level: self.run(config, log_level=level, **kwargs), levels)

    def discover(self, config: dict[str, Any]) -> dict[str, Any]:
        run = self.run(config, args=["--discover"])
        assert run.exit_code == 0, run.stderr[-3000:]
        catalog: dict[str, Any] = json.loads(run.stdout)
        return catalog

    def catalog_selecting(self, config: dict[str, Any], streams: Iterable[str]) -> Path:
        """The path of the discovered catalog with only `streams` selected."""
        catalog = self.discover(config)
        wanted = set(streams)
        for stream in catalog["streams"]:
            for entry in stream["metadata"]:
                if entry["breadcrumb"] == []:
                    entry["metadata"]["selected"] = stream["tap_stream_id"] in wanted
        path = self._run_dir("catalog") / "catalog.json"
        path.write_text(json.dumps(catalog))
        return path

    def _run_dir(self, kind: str) -> Path:
        with self._lock:
            self._folders += 1
            path = self.tmp_path / f"{kind}-{self._folders:03d}"
        path.mkdir(parents=True)
        return path

    @staticmethod
    def _command(
        run_dir: Path, config: dict[str, Any], state: Any, config_in_env: bool, args: Iterable[str]
    ) -> tuple[list[str], dict[str, str]]:
        env: dict[str, str] = {}
        if config_in_env:
            argv = ["--config", "ENV"]
            for name, value in config.items():
                text = value if isinstance(value, str) else json.dumps(value)
                env[f"{ENV_PREFIX}{name.upper()}"] = text
        else:
            (run_dir / "config.json").write_text(json.dumps(config))
            argv = ["--config", str(run_dir / "config.json")]
        if state is not None:
            (run_dir / "state.json").write_text(json.dumps(state))
            argv += ["--state", str(run_dir / "state.json")]
        return [*argv, *args], env
