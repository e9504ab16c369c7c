"""The one way tests run the tap: `TapRunner.run` (the `tap` fixture), in-process through the
command's entry point (`in_process.py`), or as `python -m tap_centaur` where the process is
what is tested (`process.py`); its output parsed into a `Run` and checked to hold no secret
(`checks.py`). Simulators come with this suite's credentials (`Sim`, `SimFactory`)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar

from centaur_sim import SimConfig, Simulator
from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tests.harness.checks import (
    API_KEY,
    API_PASSWORD,
    SECRETS,
    STATIC_TOKEN,
    USERNAME,
    WRONG_PASSWORD,
    Run,
    as_emitted,
    assert_no_secrets,
    assert_one_clear_error,
    lower_hex,
    partition_bookmarks,
    premature_bookmarks,
)
from tests.harness.in_process import run_in_process
from tests.harness.process import ENV_PREFIX, SABOTAGE_ENV, Stop, run_subprocess

__all__ = [
    "API_KEY",
    "API_PASSWORD",
    "SABOTAGE_ENV",
    "STATIC_TOKEN",
    "USERNAME",
    "WRONG_PASSWORD",
    "Run",
    "Stop",
    "as_emitted",
    "assert_no_secrets",
    "assert_one_clear_error",
    "lower_hex",
    "partition_bookmarks",
    "premature_bookmarks",
]

T = TypeVar("T")
CREDENTIALS = {"api_key": API_KEY, "username": USERNAME, "api_password": API_PASSWORD}
LIST = "/results/public/v1/list"
LOGIN = "/auth/public/v1/login"
#: Three tasks: 101 of several pages (250 cases), 102 of one page (120), 103 empty.
THREE_TASKS: dict[str, Any] = {"tasks": 3, "cases": (250, 120, 0), "page_size": 100}


class Sim(Simulator):
    """A simulator that remembers every session token it issued (they are secrets too)."""

    def __init__(self, config: SimConfig) -> None:
        super().__init__(config)
        self.issued_tokens: list[str] = []
        issue = self.tokens.issue

        def recording_issue() -> str:
            self.issued_tokens.append(issue())
            return self.issued_tokens[-1]

        self.tokens.issue = recording_issue  # type: ignore[method-assign]

    def keys(self, task_id: int | None = None) -> set[tuple[int, int]]:
        return {(c["task_id"], c["case_id"]) for c in self.truth(task_id)}

    def emitted(self, task_id: int | None = None) -> list[dict[str, Any]]:
        return as_emitted(self.truth(task_id), CASE_RESULT_SCHEMA)

    def truth_by_key(self) -> dict[tuple[int, int], dict[str, Any]]:
        return {(c["task_id"], c["case_id"]): c for c in self.emitted()}


def login_config(url: str, task_ids: Iterable[int] | None, **extra: Any) -> dict[str, Any]:
    """A config that logs in with username + API password, retrying fast; without task_ids
    (None), the tap syncs every task it lists."""
    tasks = {} if task_ids is None else {"task_ids": list(task_ids)}
    return {**CREDENTIALS, "api_url": url, **tasks, "backoff_factor": 0.001, **extra}


def bearer_config(url: str, task_ids: Iterable[int] | None, **extra: Any) -> dict[str, Any]:
    config = login_config(url, task_ids, **extra)
    del config["username"], config["api_password"]
    return {**config, "bearer_token": STATIC_TOKEN}


def secrets_of(config: dict[str, Any]) -> list[str]:
    """The values of the config's secret settings long enough to search for."""
    values = [config.get(name) for name in ("api_key", "api_password", "bearer_token")]
    return [str(v) for v in values if isinstance(v, (str, int)) and len(str(v)) >= 4]


def sim_config(**overrides: Any) -> SimConfig:
    """SimConfig's defaults, the suite's credentials and no Retry-After wait, `overrides`."""
    return SimConfig(**{**CREDENTIALS, "static_token": STATIC_TOKEN, "retry_after": 0, **overrides})


class SimFactory:
    """Starts simulators of `sim_config(**overrides)`; `stop_all` stops them."""

    def __init__(self) -> None:
        self.started: list[Sim] = []

    def __call__(self, **overrides: Any) -> Sim:
        sim = Sim(sim_config(**overrides))
        sim.start()
        self.started.append(sim)
        return sim

    @property
    def issued_tokens(self) -> list[str]:
        return [token for sim in list(self.started) for token in sim.issued_tokens]

    def stop_all(self) -> None:
        for sim in self.started:
            sim.stop()


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
        """Run the tap to its end (or to `stop`), checking that it leaked no secret; a subprocess
        with `in_subprocess`, `stop`, `stdout` (a file) or a sabotage. `config_in_env`: the
        settings as TAP_CENTAUR_* variables (`--config ENV`)."""
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
        return len(list(self.tmp_path.glob("run-*")))

    def run_at_levels(
        self, config: dict[str, Any], levels: Iterable[str] = ("INFO", "DEBUG"), **kwargs: Any
    ) -> dict[str, Run]:
        return at_levels(lambda level: self.run(config, log_level=level, **kwargs), levels)

    def discover(self, config: dict[str, Any]) -> dict[str, Any]:
        run = self.run(config, args=["--discover"])
        assert run.exit_code == 0, run.stderr[-3000:]
        return dict(json.loads(run.stdout))

    def catalog_selecting(self, config: dict[str, Any], streams: Iterable[str]) -> Path:
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
