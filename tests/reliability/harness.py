"""The reliability suite's harness: distinctive secrets, tap runs that can be cut short, checks.

Every tap run goes through `Runner.run`, which:

- runs the real `python -m tap_centaur` in a subprocess (at DEBUG unless told otherwise),
  reading its stdout as it comes so the run can be SIGKILLed or signalled after N bytes or
  after a delay;
- parses the Singer output, tolerating a last line cut short by SIGKILL (kept apart);
- checks that no secret (API key, API password, bearer token, every session token the
  simulator issued, and any extra secret of the run) appears in stdout, stderr, the STATE
  messages or the state file written from the last STATE (scenario 6 of issue 5);
- applies the sabotage named by `RELIABILITY_SABOTAGE` (see `sabotage/sitecustomize.py`),
  which is how each scenario is shown able to fail.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from centaur_sim import SimConfig, Simulator
from tests.tap_runner import TapRun, partition_bookmarks

HERE = Path(__file__).resolve().parent
SABOTAGE_DIR = HERE / "sabotage"
SABOTAGE_ENV = "RELIABILITY_SABOTAGE"

LIST = "/results/public/v1/list"
LOGIN = "/auth/public/v1/login"

# Distinctive values: none of them can appear in output by accident.
API_KEY = "rlb-apikey-Q7x2Vd9Lm4Kf"
USERNAME = "reliability-robot@example.com"
API_PASSWORD = "rlb-apipass-Zk81Wq3Rt6Yh"
STATIC_TOKEN = "rlb-bearer-Hs5Ny0Pc2JuX"
WRONG_PASSWORD = "rlb-wrongpass-Mc4Ta9Ke1B"
SECRETS = (API_KEY, API_PASSWORD, STATIC_TOKEN)
SECRET_NAMES = {
    API_KEY: "api_key",
    API_PASSWORD: "api_password",
    STATIC_TOKEN: "bearer_token",
    WRONG_PASSWORD: "a wrong api_password",
}
#: Runs checked for secrets in this session, by log level (reported by test_secrets.py).
SECRET_CHECKS: Counter[str] = Counter()

SIM_DEFAULTS: dict[str, Any] = {
    "api_key": API_KEY,
    "username": USERNAME,
    "api_password": API_PASSWORD,
    "static_token": STATIC_TOKEN,
    "retry_after": 0,
}


class RelSim(Simulator):
    """A simulator that remembers every session token it issued (they are secrets too)."""

    def __init__(self, config: SimConfig) -> None:
        super().__init__(config)
        self.issued_tokens: list[str] = []
        issue = self.tokens.issue

        def recording_issue() -> str:
            token = issue()
            self.issued_tokens.append(token)
            return token

        self.tokens.issue = recording_issue  # type: ignore[method-assign]

    @property
    def secrets(self) -> list[str]:
        """Every secret a run against this simulator could leak."""
        return [*SECRETS, *self.issued_tokens]

    def keys(self, task_id: int | None = None) -> set[tuple[int, int]]:
        """(task_id, case_id) of every case the simulator holds now."""
        return {(c["task_id"], c["case_id"]) for c in self.truth(task_id)}

    def truth_by_key(self) -> dict[tuple[int, int], dict[str, Any]]:
        """The current version of every case, by key."""
        return {(c["task_id"], c["case_id"]): c for c in self.truth()}


def make_relsim(**overrides: Any) -> RelSim:
    """Start a simulator with this suite's secrets (stop it yourself, or use the fixture)."""
    sim = RelSim(SimConfig(**{**SIM_DEFAULTS, **overrides}))
    sim.start()
    return sim


def login_config(url: str, task_ids: Iterable[int], **extra: Any) -> dict[str, Any]:
    """A config that logs in with username + API password, retrying fast."""
    return {
        "api_key": API_KEY,
        "username": USERNAME,
        "api_password": API_PASSWORD,
        "api_url": url,
        "task_ids": list(task_ids),
        "backoff_factor": 0.001,
        **extra,
    }


def bearer_config(url: str, task_ids: Iterable[int], **extra: Any) -> dict[str, Any]:
    """A config that uses the static bearer token."""
    config = login_config(url, task_ids, **extra)
    del config["username"], config["api_password"]
    return {**config, "bearer_token": STATIC_TOKEN}


@dataclass(frozen=True)
class Stop:
    """Cut a run short: send `sig` once `after_bytes` of stdout were read, or `after_seconds`.

    With `slow_reader`, the reader first slows down for that many seconds (4 KiB every
    10 ms, like a busy target), so the signal finds the tap in the middle of a write.
    """

    sig: int = signal.SIGKILL
    after_bytes: int | None = None
    after_seconds: float | None = None
    slow_reader: float = 0.0


@dataclass
class Run(TapRun):
    """What one run of the tap printed, and how it ended."""

    duration: float = 0.0
    #: Bytes after the last newline (a line cut short by SIGKILL), else "".
    partial_tail: str = ""
    #: Whether the Stop condition fired (False: the run ended before it).
    stopped: bool = False
    #: Seconds from start to the first byte of stdout (None: no output).
    first_output: float | None = None
    state_file: Path | None = None

    @property
    def records(self) -> list[dict[str, Any]]:
        """The task_results records (the only stream these scenarios check)."""
        return self.records_of("task_results")

    @property
    def retries(self) -> int:
        """How many retries the tap logged ('Retrying (n of m) in x s after: ...')."""
        return self.stderr.count("Retrying (")

    def records_after_last_state(self) -> list[tuple[int, int]]:
        """Keys of the records printed after the last STATE (not covered by any bookmark)."""
        keys: list[tuple[int, int]] = []
        for message in self.messages:
            if message["type"] == "STATE":
                keys = []
            elif message["type"] == "RECORD" and message["stream"] == "task_results":
                keys.append((message["record"]["task_id"], message["record"]["case_id"]))
        return keys


#: {(task_id, labeling_state or None): bookmark} of task_results in a STATE value.
bookmarks = partition_bookmarks


def sabotage_env() -> dict[str, str]:
    """Environment that makes the tap subprocess load a sabotage, when one is requested."""
    name = os.environ.get(SABOTAGE_ENV)
    if not name:
        return {}
    path = os.pathsep.join(p for p in (str(SABOTAGE_DIR), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "TAP_CENTAUR_SABOTAGE": name}


class Runner:
    """Runs the tap against one simulator, in numbered folders under `tmp_path`."""

    def __init__(self, tmp_path: Path, sim: RelSim) -> None:
        self.tmp_path = tmp_path
        self.sim = sim
        self.count = 0
        self._lock = threading.Lock()

    def run(
        self,
        config: dict[str, Any],
        state: dict[str, Any] | None = None,
        *,
        log_level: str = "DEBUG",
        stop: Stop | None = None,
        timeout: float = 120,
        extra_secrets: Iterable[str] = (),
        check_secrets: bool = True,
        config_in_env: bool = False,
        args: Iterable[str] = (),
    ) -> Run:
        """Run `python -m tap_centaur` to its end (or to `stop`); check it leaked no secret.

        With `config_in_env`, settings go in TAP_CENTAUR_* variables and `--config ENV`
        (as Meltano can pass them) instead of a config file.
        """
        with self._lock:
            self.count += 1
            run_dir = self.tmp_path / f"run-{self.count:03d}"
        run_dir.mkdir()
        config_env: dict[str, str] = {}
        if config_in_env:
            command = [sys.executable, "-m", "tap_centaur", "--config", "ENV"]
            for name, value in config.items():
                text = value if isinstance(value, str) else json.dumps(value)
                config_env[f"TAP_CENTAUR_{name.upper()}"] = text
        else:
            config_path = run_dir / "config.json"
            config_path.write_text(json.dumps(config))
            command = [sys.executable, "-m", "tap_centaur", "--config", str(config_path)]
        command += list(args)
        if state is not None:
            state_path = run_dir / "state.json"
            state_path.write_text(json.dumps(state))
            command += ["--state", str(state_path)]
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TAP_CENTAUR_")},
            "TAP_CENTAUR_LOGLEVEL": log_level,
            **config_env,
            **sabotage_env(),
        }
        run = _execute(command, env, run_dir, stop, timeout)
        (run_dir / "stdout.jsonl").write_text(run.stdout)
        if run.final_state is not None:
            run.state_file = run_dir / "state-out.json"
            run.state_file.write_text(json.dumps(run.final_state))
        if check_secrets:
            assert_no_secrets(run, [*self.sim.secrets, *extra_secrets])
            SECRET_CHECKS[log_level] += 1
        return run

    def catalog_selecting(self, config: dict[str, Any], streams: Iterable[str]) -> Path:
        """Discover the catalog (`--discover`), select only `streams`, save it, return its path."""
        with self._lock:
            self.count += 1
            run_dir = self.tmp_path / f"discover-{self.count:03d}"
        run_dir.mkdir()
        config_path = run_dir / "config.json"
        config_path.write_text(json.dumps(config))
        completed = subprocess.run(
            [sys.executable, "-m", "tap_centaur", "--config", str(config_path), "--discover"],
            capture_output=True,
            text=True,
            check=True,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("TAP_CENTAUR_")},
                **sabotage_env(),
            },
            cwd=run_dir,
        )
        catalog = json.loads(completed.stdout)
        wanted = set(streams)
        for stream in catalog["streams"]:
            for entry in stream["metadata"]:
                if entry["breadcrumb"] == []:
                    entry["metadata"]["selected"] = stream["tap_stream_id"] in wanted
        catalog_path = run_dir / "catalog.json"
        catalog_path.write_text(json.dumps(catalog))
        return catalog_path

    def run_at_levels(
        self, config: dict[str, Any], levels: Iterable[str] = ("INFO", "DEBUG"), **kwargs: Any
    ) -> dict[str, Run]:
        """Run the same config at several log levels at once (two cores: half the time)."""
        levels = list(levels)
        with ThreadPoolExecutor(max_workers=len(levels)) as pool:
            futures = {
                level: pool.submit(self.run, config, log_level=level, **kwargs) for level in levels
            }
            return {level: future.result() for level, future in futures.items()}


def _execute(
    command: list[str], env: dict[str, str], run_dir: Path, stop: Stop | None, timeout: float
) -> Run:
    stderr_path = run_dir / "stderr.log"
    started = time.monotonic()
    with stderr_path.open("wb") as stderr_file:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr_file, env=env, cwd=run_dir
        )
        assert process.stdout is not None
        out = bytearray()
        stopped = False
        slow_since: float | None = None
        first_output: float | None = None
        fd = process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                elapsed = time.monotonic() - started
                if elapsed > timeout:
                    process.kill()
                    process.wait()
                    raise AssertionError(f"tap run exceeded {timeout} s: {command}")
                read_size = 1 << 16
                if stop is not None and not stopped:
                    due = (stop.after_bytes is not None and len(out) >= stop.after_bytes) or (
                        stop.after_seconds is not None and elapsed >= stop.after_seconds
                    )
                    if due and stop.slow_reader and slow_since is None:
                        slow_since = time.monotonic()
                    if slow_since is not None and time.monotonic() - slow_since < stop.slow_reader:
                        read_size = 4096
                        time.sleep(0.01)
                    elif due:
                        stopped = _send(process, stop.sig)
                wait = 0.5
                if stop is not None and not stopped and stop.after_seconds is not None:
                    wait = max(0.0, min(wait, stop.after_seconds - elapsed))
                if not selector.select(wait):
                    continue
                chunk = os.read(fd, read_size)
                if not chunk:
                    break
                if first_output is None:
                    first_output = time.monotonic() - started
                out += chunk
        exit_code = process.wait(timeout=max(1.0, timeout - (time.monotonic() - started)))
    if stopped and stop is not None and stop.sig == signal.SIGKILL:
        stopped = exit_code == -signal.SIGKILL  # False: the run was exiting when it was sent
    duration = time.monotonic() - started
    text = out.decode("utf-8", errors="replace")
    complete, _, tail = text.rpartition("\n")
    messages = [json.loads(line) for line in complete.splitlines() if line.strip()]
    return Run(
        exit_code=exit_code,
        stdout=text,
        stderr=stderr_path.read_text(errors="replace"),
        duration=duration,
        messages=messages,
        partial_tail=tail,
        stopped=stopped,
        first_output=first_output,
    )


def _send(process: subprocess.Popen[bytes], sig: int) -> bool:
    if process.poll() is not None:
        return False
    process.send_signal(sig)
    return True


def assert_no_secrets(run: Run, secrets: Iterable[str]) -> None:
    """No secret in stdout, stderr, STATE messages or the state file."""
    places = {
        "stdout": run.stdout,
        "stderr": run.stderr,
        "STATE messages": json.dumps(run.states),
        "state file": run.state_file.read_text() if run.state_file else "",
    }
    for secret in secrets:
        for where, text in places.items():
            name = SECRET_NAMES.get(secret, "a secret (session token or extra)")
            assert secret not in text, f"{name} leaked into {where}"


def assert_one_clear_error(run: Run, *fragments: str, traceback_allowed: bool = False) -> str:
    """Non-zero exit, the last ERROR line holds every fragment; no traceback unless DEBUG."""
    assert run.exit_code not in (0, None), run.stderr[-3000:]
    errors = run.error_lines
    assert errors, f"no ERROR line in stderr:\n{run.stderr[-3000:]}"
    last = errors[-1]
    for fragment in fragments:
        assert fragment in last, f"{fragment!r} not in the error line: {last}"
    if not traceback_allowed:
        assert "Traceback" not in run.stderr, run.stderr[-3000:]
    return last
