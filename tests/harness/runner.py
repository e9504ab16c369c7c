"""`TapRunner`: the one entry point of tap runs in tests, in-process or as a subprocess."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar

from tests.harness.checks import assert_no_secrets
from tests.harness.credentials import SECRETS, secrets_of
from tests.harness.in_process import run_in_process
from tests.harness.output import Run
from tests.harness.process import ENV_PREFIX, SABOTAGE_ENV, Stop, run_subprocess
from tests.harness.sims import SimFactory

T = TypeVar("T")


def at_levels(run: Callable[[str], T], levels: Iterable[str] = ("INFO", "DEBUG")) -> dict[str, T]:
    """`run(level)` for each level: at once when runs are subprocesses (two cores), else in turn."""
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
        #: Runs so far (`run`; discovery not counted).
        self.count = 0
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

        With `config_in_env`, settings go in TAP_CENTAUR_* variables and `--config ENV` (as
        Meltano can pass them) instead of a config file. `env` adds environment variables.
        The run is a subprocess with `in_subprocess`, `stop` or `stdout` (a file instead of a
        pipe), and under a sabotage; an in-process run has no timeout of its own
        (pytest-timeout ends a stuck test).
        """
        with self._lock:
            self.count += 1
        run_dir = self._run_dir("run")
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
        if run.final_state is not None:
            run.state_file = run_dir / "state-out.json"
            run.state_file.write_text(json.dumps(run.final_state))
        assert_no_secrets(run, [*self._secrets(config), *extra_secrets])
        return run

    def run_at_levels(
        self, config: dict[str, Any], levels: Iterable[str] = ("INFO", "DEBUG"), **kwargs: Any
    ) -> dict[str, Run]:
        """Run the same config at several log levels (see `at_levels`)."""
        return at_levels(lambda level: self.run(config, log_level=level, **kwargs), levels)

    def discover(self, config: dict[str, Any]) -> dict[str, Any]:
        """The catalog `--discover` prints (the run must succeed)."""
        run_dir = self._run_dir("discover")
        argv, env = self._command(run_dir, config, None, False, ["--discover"])
        if os.environ.get(SABOTAGE_ENV):
            run = run_subprocess(argv, env, run_dir, None, 120)
        else:
            run = run_in_process(argv, env)
        assert run.exit_code == 0, run.stderr[-3000:]
        catalog: dict[str, Any] = json.loads(run.stdout)
        return catalog

    def catalog_selecting(self, config: dict[str, Any], streams: Iterable[str]) -> Path:
        """Discover the catalog, select only `streams`, save it, return its path."""
        catalog = self.discover(config)
        wanted = set(streams)
        for stream in catalog["streams"]:
            for entry in stream["metadata"]:
                if entry["breadcrumb"] == []:
                    entry["metadata"]["selected"] = stream["tap_stream_id"] in wanted
        catalog_path = self._run_dir("catalog") / "catalog.json"
        catalog_path.write_text(json.dumps(catalog))
        return catalog_path

    def _run_dir(self, kind: str) -> Path:
        with self._lock:
            self._folders += 1
            path = self.tmp_path / f"{kind}-{self._folders:03d}"
        path.mkdir(parents=True)
        return path

    def _command(
        self,
        run_dir: Path,
        config: dict[str, Any],
        state: dict[str, Any] | None,
        config_in_env: bool,
        args: Iterable[str],
    ) -> tuple[list[str], dict[str, str]]:
        env: dict[str, str] = {}
        if config_in_env:
            argv = ["--config", "ENV"]
            for name, value in config.items():
                text = value if isinstance(value, str) else json.dumps(value)
                env[f"{ENV_PREFIX}{name.upper()}"] = text
        else:
            config_path = run_dir / "config.json"
            config_path.write_text(json.dumps(config))
            argv = ["--config", str(config_path)]
        argv += list(args)
        if state is not None:
            state_path = run_dir / "state.json"
            state_path.write_text(json.dumps(state))
            argv += ["--state", str(state_path)]
        return argv, env

    def _secrets(self, config: dict[str, Any]) -> list[str]:
        return [*SECRETS, *self.sims.issued_tokens, *secrets_of(config)]
