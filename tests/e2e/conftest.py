"""Fixtures of the end-to-end tests: real Meltano, real PostgreSQL, the local simulator.

`make e2e` (scripts/e2e.sh) provides everything: a PostgreSQL server (TARGET_POSTGRES_HOST,
_PORT, _USER, _PASSWORD, _DATABASE), Meltano (MELTANO_BIN, installed in .meltano-venv) and
TAP_CENTAUR_E2E_REQUIRED=1, which turns every "cannot run here" skip into a failure.
Without them, e.g. under a bare `pytest`, these tests are skipped with the reason.

Each test gets its own simulator, its own Meltano system database (so its own state) and its
own PostgreSQL schema, which is dropped afterwards. The plugins are installed once per
session in the project's .meltano/ (`meltano install` is quick when they are up to date).
A test that needs a different meltano.yml runs in an overlay project (`overlay_project`): an
edited copy of the file next to a link to the installed plugins.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from centaur_sim import SimConfig, Simulator

ROOT = Path(__file__).resolve().parents[2]
PG_VARS = (
    "TARGET_POSTGRES_HOST",
    "TARGET_POSTGRES_PORT",
    "TARGET_POSTGRES_USER",
    "TARGET_POSTGRES_PASSWORD",
    "TARGET_POSTGRES_DATABASE",
)
REQUIRED = os.environ.get("TAP_CENTAUR_E2E_REQUIRED", "") not in ("", "0", "false")
#: Variables of the calling shell that must not leak into a test's Meltano run.
LEAKY_PREFIXES = ("TAP_CENTAUR", "MELTANO_", "TARGET_JSONL_")
RUN_TIMEOUT = 300


def unavailable(reason: str) -> None:
    """Skip, or fail when the caller said the end-to-end tests must run."""
    if REQUIRED:
        pytest.fail(f"{reason} (TAP_CENTAUR_E2E_REQUIRED is set)")
    pytest.skip(reason)


@dataclass
class RunResult:
    """One finished `meltano` command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Standard output and error together (Meltano logs to stderr)."""
        return self.stdout + self.stderr


@dataclass
class Meltano:
    """Runs `meltano` in the repository's project (or an overlay) with a per-test environment."""

    executable: str
    env: dict[str, str]
    workdir: Path
    project: Path = ROOT
    runs: list[RunResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Meltano finds the project by its working directory and MELTANO_PROJECT_ROOT."""
        self.env["MELTANO_PROJECT_ROOT"] = str(self.project)

    def use_project(self, project: Path) -> None:
        """Run the following commands in `project` (e.g. an overlay project)."""
        self.project = project
        self.env["MELTANO_PROJECT_ROOT"] = str(project)

    def __call__(
        self,
        *args: str,
        check: bool = True,
        timeout: float = RUN_TIMEOUT,
        stdin: Path | None = None,
    ) -> RunResult:
        """Run `meltano ARGS` (reading `stdin`, a file); with `check`, fail the test (showing
        the log) on a non-zero exit."""
        return self.concurrently([args], check=check, timeout=timeout, stdin=stdin)[0]

    def concurrently(
        self,
        commands: list[tuple[str, ...]],
        *,
        check: bool = True,
        timeout: float = RUN_TIMEOUT,
        stdin: Path | None = None,
    ) -> list[RunResult]:
        """Start every `meltano ARGS` of `commands` at once, then wait for all of them.

        Output goes to files (not to pipes, which one process could fill while the test waits
        for another), so no command waits for another; each run's log is kept in `workdir`.
        """
        started: list[tuple[tuple[str, ...], subprocess.Popen[bytes], Path, Path]] = []
        for args in commands:
            number = len(self.runs) + len(started) + 1
            stdout = self.workdir / f"meltano-{number}.stdout"
            log = self.workdir / f"meltano-{number}.log"
            with (
                stdout.open("wb") as out,
                log.open("wb") as err,
                stdin.open("rb") if stdin else contextlib.nullcontext() as given,
            ):
                process = subprocess.Popen(
                    [self.executable, *args],
                    cwd=self.project,
                    env=self.env,
                    stdin=given or subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                )
            started.append((args, process, stdout, log))
        results = []
        for args, process, stdout, log in started:
            try:
                returncode = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
            result = RunResult(
                args,
                returncode,
                stdout.read_text(encoding="utf-8", errors="replace"),
                log.read_text(encoding="utf-8", errors="replace"),
            )
            log.write_text(f"$ meltano {' '.join(args)}\n{result.output}", encoding="utf-8")
            stdout.unlink()
            self.runs.append(result)
            results.append(result)
        for result in results:
            if check and result.returncode != 0:
                tail = "\n".join(result.output.splitlines()[-40:])
                pytest.fail(f"meltano {' '.join(result.args)} exited {result.returncode}:\n{tail}")
        return results

    def state(self, state_id: str) -> dict[str, Any]:
        """Return the state Meltano stored under `state_id`."""
        result = self("state", "get", state_id)
        start = result.stdout.find("{")
        assert start >= 0, f"no state printed for {state_id}: {result.output[-2000:]}"
        state: dict[str, Any] = json.loads(result.stdout[start:])
        return state

    def set_state(self, state_id: str, singer_state: dict[str, Any]) -> None:
        """Store `singer_state` (what a tap writes) under `state_id`, as a user would."""
        self("state", "set", "--force", state_id, json.dumps({"singer_state": singer_state}))


class Postgres:
    """Queries one schema of the test database."""

    def __init__(self, settings: dict[str, str], schema: str) -> None:
        import psycopg

        self.schema = schema
        self.connection = psycopg.connect(
            host=settings["TARGET_POSTGRES_HOST"],
            port=int(settings["TARGET_POSTGRES_PORT"]),
            user=settings["TARGET_POSTGRES_USER"],
            password=settings["TARGET_POSTGRES_PASSWORD"],
            dbname=settings["TARGET_POSTGRES_DATABASE"],
            autocommit=True,
        )

    def close(self) -> None:
        """Drop the schema and close the connection."""
        self.connection.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        self.connection.close()

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a query; `{schema}` in `sql` is this test's schema."""
        with self.connection.cursor() as cursor:
            cursor.execute(sql.replace("{schema}", f'"{self.schema}"'), params)
            return list(cursor.fetchall())

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """Run a query that returns one value."""
        rows = self.all(sql, params)
        assert len(rows) == 1, rows
        return rows[0][0]

    def rows(self, table: str) -> dict[tuple[int, int], dict[str, Any]]:
        """Return every row of `table` as a dict, keyed by (task_id, case_id)."""
        with self.connection.cursor() as cursor:
            cursor.execute(f'SELECT * FROM "{self.schema}"."{table}"')
            names = [column.name for column in cursor.description or ()]
            result: dict[tuple[int, int], dict[str, Any]] = {}
            for values in cursor.fetchall():
                row = dict(zip(names, values, strict=True))
                key = (row["task_id"], row["case_id"])
                assert key not in result, f"two rows for {key}"
                result[key] = row
            return result

    def column_types(self, table: str) -> dict[str, str]:
        """Return {column: udt_name} (int8, jsonb, _jsonb for jsonb[], text, ...)."""
        rows = self.all(
            "SELECT column_name, udt_name FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s",
            (self.schema, table),
        )
        return {str(name): str(udt) for name, udt in rows}

    def primary_key(self, table: str) -> list[str]:
        """Return the primary key columns of `table`, in key order."""
        rows = self.all(
            "SELECT k.column_name FROM information_schema.table_constraints c"
            " JOIN information_schema.key_column_usage k"
            "   ON k.constraint_name = c.constraint_name AND k.table_schema = c.table_schema"
            " WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = %s"
            "   AND c.table_name = %s ORDER BY k.ordinal_position",
            (self.schema, table),
        )
        return [str(name) for (name,) in rows]


@pytest.fixture(scope="session")
def pg_settings() -> dict[str, str]:
    """The PostgreSQL connection settings from the environment."""
    missing = [name for name in PG_VARS if name not in os.environ]
    if missing or not os.environ["TARGET_POSTGRES_HOST"]:
        unavailable(
            "needs a PostgreSQL server: set "
            + ", ".join(missing or PG_VARS)
            + " (`make e2e` starts a throwaway one)"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("needs psycopg: pip install -e '.[e2e]' (make venv does)")
    return {name: os.environ[name] for name in PG_VARS}


@pytest.fixture(scope="session")
def meltano_bin() -> str:
    """The `meltano` executable (MELTANO_BIN, .meltano-venv/bin/meltano, or on PATH), installed."""
    candidates = [
        os.environ.get("MELTANO_BIN"),
        str(ROOT / ".meltano-venv" / "bin" / "meltano"),
        shutil.which("meltano"),
    ]
    executable = next((c for c in candidates if c and Path(c).is_file()), None)
    if executable is None:
        unavailable("needs Meltano: `make e2e` installs it in .meltano-venv (or set MELTANO_BIN)")
    assert executable is not None
    completed = subprocess.run(
        [executable, "install"],
        cwd=ROOT,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout + completed.stderr).splitlines()[-40:])
        pytest.fail(f"meltano install failed:\n{tail}")
    return executable


def clean_env() -> dict[str, str]:
    """The calling environment without variables that would change what Meltano runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(LEAKY_PREFIXES)}
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    env["MELTANO_ENVIRONMENT"] = "dev"
    return env


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A simulator with two tasks of 120 and 75 cases, on a free port."""
    config = SimConfig(port=0, tasks=2, first_task_id=101, cases=(120, 75), seed=20241)
    with Simulator(config) as simulator:
        yield simulator


def meltano_for(meltano_bin: str, sim: Simulator, workdir: Path) -> Meltano:
    """Meltano with a private system database in `workdir` (so private state), using `sim`."""
    env = clean_env()
    config = sim.config
    env.update(
        {
            "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
            "TAP_CENTAUR_API_URL": sim.url,
            "TAP_CENTAUR_API_KEY": config.api_key,
            "TAP_CENTAUR_USERNAME": config.username,
            "TAP_CENTAUR_API_PASSWORD": config.api_password,
            "TAP_CENTAUR_TASK_IDS": json.dumps(sim.task_ids()),
            "TAP_CENTAUR_PAGE_SIZE": "40",
            "TARGET_JSONL_DESTINATION_PATH": str(workdir / "jsonl"),
        }
    )
    return Meltano(meltano_bin, env, workdir)


@contextlib.contextmanager
def schema_for(pg_settings: dict[str, str], meltano: Meltano) -> Iterator[Postgres]:
    """A fresh schema that `meltano`'s target-postgres loads into, dropped on exit."""
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    meltano.env["TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA"] = schema
    database = Postgres(pg_settings, schema)
    try:
        yield database
    finally:
        database.close()


def overlay_project(meltano: Meltano, edit: Callable[[Any], None]) -> Path:
    """Run `meltano` in a copy of this project whose meltano.yml `edit` changed.

    `edit` gets the parsed meltano.yml (ruamel's round-trip form) and changes it in place;
    the overlay links to this project's `.meltano/` (the installed plugins), so nothing is
    installed again. For settings that only meltano.yml can give (e.g. one the plugin
    definition does not declare, which no environment variable reaches).
    """
    yaml = YAML()
    project = yaml.load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    edit(project)
    overlay = meltano.workdir / "project"
    overlay.mkdir()
    with (overlay / "meltano.yml").open("w", encoding="utf-8") as out:
        yaml.dump(project, out)
    (overlay / ".meltano").symlink_to(ROOT / ".meltano", target_is_directory=True)
    meltano.use_project(overlay)
    return overlay


def emit_activate_version(*extractors: str) -> Callable[[Any], None]:
    """An overlay edit: what a user writes in meltano.yml to get ACTIVATE_VERSION messages."""

    def edit(project: Any) -> None:
        for name in extractors:
            extractor = plugin(project, "extractors", name)
            extractor.setdefault("config", {})["emit_activate_version_messages"] = True

    return edit


def plugin(project: Any, kind: str, name: str) -> Any:
    """The definition of plugin `name` of `kind` ("extractors", "loaders") in a meltano.yml."""
    return next(p for p in project["plugins"][kind] if p["name"] == name)


@pytest.fixture
def meltano(meltano_bin: str, sim: Simulator, tmp_path: Path) -> Meltano:
    """Meltano with a private system database (so private state), pointed at `sim`."""
    return meltano_for(meltano_bin, sim, tmp_path)


@pytest.fixture
def postgres(pg_settings: dict[str, str], meltano: Meltano) -> Iterator[Postgres]:
    """A fresh schema for this test; target-postgres loads into it."""
    with schema_for(pg_settings, meltano) as database:
        yield database
