"""Fixtures and checks of the end-to-end tests (real Meltano, PostgreSQL, the simulator; per test
its own simulator, Meltano system database and PostgreSQL schema). `make e2e` gives the server
(TARGET_POSTGRES_*), Meltano (MELTANO_BIN) and TAP_CENTAUR_E2E_REQUIRED=1 (a skip then fails)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from centaur_sim import SimConfig, Simulator
from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tests.harness.checks import as_emitted
from tests.test_docs import ROOT, load_yaml

#: psycopg's connection arguments and the variables that give them.
PG_VARS = {"host": "HOST", "port": "PORT", "user": "USER", "password": "PASSWORD"}
PG_VARS = {k: f"TARGET_POSTGRES_{v}" for k, v in (PG_VARS | {"dbname": "DATABASE"}).items()}
REQUIRED = os.environ.get("TAP_CENTAUR_E2E_REQUIRED", "") not in ("", "0", "false")
RUN_TIMEOUT = 300
Rows = dict[tuple[int, int], dict[str, Any]]
RESULTS_V1 = "/results/public/v1/list"
RESULTS_V2 = "/results/public/v2/list"
METRIC = re.compile(r"METRIC: (\{.*\})\s*$")


def by_key(records: Iterable[dict[str, Any]]) -> Rows:
    records = list(records)
    keyed = {(r["task_id"], r["case_id"]): r for r in records}
    assert len(keyed) == len(records), "two records of one case"
    return keyed


def unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (TAP_CENTAUR_E2E_REQUIRED is set)")
    pytest.skip(reason)


@dataclass
class RunResult:
    """One finished `meltano` command; `output` is stdout and stderr (Meltano's log) together."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    output: str


@dataclass
class Meltano:
    """Runs `meltano` in a project (this repository's, or an overlay) with a per-test env."""

    executable: str
    env: dict[str, str]
    workdir: Path
    project: Path = ROOT

    def __call__(self, *args: str, check: bool = True, stdin: Path | None = None) -> RunResult:
        return self.concurrently([args], stdin, check)[0]

    def concurrently(
        self, commands: Sequence[tuple[str, ...]], stdin: Path | None = None, check: bool = True
    ) -> list[RunResult]:
        """Start every command at once, then wait; output to files (a pipe could fill meanwhile)."""
        started = []
        for args in commands:
            out = self.workdir / f"meltano-{uuid.uuid4().hex[:8]}"
            with (
                out.with_suffix(".stdout").open("wb") as stdout,
                out.with_suffix(".log").open("wb") as stderr,
                stdin.open("rb") if stdin else contextlib.nullcontext() as given,
            ):
                process = subprocess.Popen(
                    [self.executable, *args], cwd=self.project, env=self.env,
                    stdin=given or subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                )  # fmt: skip
            started.append((args, process, out))
        results = []
        for args, process, out in started:
            try:
                process.wait(timeout=RUN_TIMEOUT)
            finally:
                process.kill()
            printed = out.with_suffix(".stdout").read_text("utf-8", "replace")
            log = out.with_suffix(".log").read_text("utf-8", "replace")
            results.append(RunResult(args, process.wait(), printed, printed + log))
        for result in results:
            if check and result.returncode:
                tail = "\n".join(result.output.splitlines()[-40:])
                pytest.fail(f"meltano {' '.join(result.args)} exited {result.returncode}:\n{tail}")
        return results

    def state(self, state_id: str) -> dict[str, Any]:
        stdout = self("state", "get", state_id).stdout
        return dict(json.loads(stdout[stdout.index("{") :]))

    def overlay(self, *activate_version: str) -> None:
        """Run in a copy of this project (linked to its installed plugins) whose extractors
        `activate_version` get `emit_activate_version_messages: true`: an SDK setting only
        meltano.yml can give (the plugin definition does not declare it)."""
        project = load_yaml(ROOT / "meltano.yml")
        for extractor in project["plugins"]["extractors"]:
            if extractor["name"] in activate_version:
                extractor.setdefault("config", {})["emit_activate_version_messages"] = True
        self.project = self.workdir / "project"
        self.project.mkdir()
        self.env["MELTANO_PROJECT_ROOT"] = str(self.project)
        (self.project / "meltano.yml").write_text(json.dumps(project), encoding="utf-8")
        (self.project / ".meltano").symlink_to(ROOT / ".meltano", target_is_directory=True)


class Postgres:
    """Queries one schema of the test database; `close` drops it."""

    def __init__(self, settings: dict[str, str], schema: str) -> None:
        import psycopg

        self.schema = schema
        info = psycopg.conninfo.make_conninfo(**{k: settings[v] for k, v in PG_VARS.items()})
        self.connection = psycopg.connect(info, autocommit=True)

    def close(self) -> None:
        self.connection.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        self.connection.close()

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a query; `{schema}` in `sql` is this test's schema."""
        with self.connection.cursor() as cursor:
            cursor.execute(sql.replace("{schema}", f'"{self.schema}"'), params)
            return list(cursor.fetchall()) if cursor.description else []

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        [(value,)] = self.all(sql, params)
        return value

    def table(self, table: str) -> list[dict[str, Any]]:
        with self.connection.cursor() as cursor:
            cursor.execute(f'SELECT * FROM "{self.schema}"."{table}"')
            names = [column.name for column in cursor.description or ()]
            return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]

    def rows(self, table: str) -> dict[tuple[int, int], dict[str, Any]]:
        return by_key(self.table(table))

    def primary_key(self, table: str) -> str:
        sql = "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'p'"
        return str(self.scalar(f"{sql} AND conrelid = %s::regclass", (f"{self.schema}.{table}",)))

    def extracted_since(self, table: str, since: Any) -> set[tuple[int, int]]:
        sql = f"SELECT task_id, case_id FROM {{schema}}.{table} WHERE _sdc_extracted_at > %s"
        return set(self.all(sql, (since,)))

    def last_extracted(self, table: str = "task_results") -> Any:
        return self.scalar(f"SELECT max(_sdc_extracted_at) FROM {{schema}}.{table}")


@pytest.fixture(scope="session")
def pg_settings() -> dict[str, str]:
    if not os.environ.get("TARGET_POSTGRES_HOST"):
        unavailable(f"needs a PostgreSQL server: set {', '.join(PG_VARS.values())} (make e2e)")
    return {name: os.environ[name] for name in PG_VARS.values()}


@pytest.fixture(scope="session")
def meltano_bin() -> str:
    executable = os.environ.get("MELTANO_BIN", str(ROOT / ".meltano-venv" / "bin" / "meltano"))
    if not Path(executable).is_file() or not (ROOT / ".meltano" / ".stamp-e2e-plugins").exists():
        unavailable("needs Meltano and the plugins of meltano.yml: `make e2e` installs them")
    return executable


def clean_env() -> dict[str, str]:
    """The calling environment without variables that would change what Meltano runs."""
    leaky = ("TAP_CENTAUR", "MELTANO_", "TARGET_JSONL_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(leaky)}
    return env | {"MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", "MELTANO_ENVIRONMENT": "dev"}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    config = SimConfig(port=0, tasks=2, first_task_id=101, cases=(120, 75), seed=20241)
    with Simulator(config) as simulator:
        yield simulator


def meltano_for(meltano_bin: str, sim: Simulator, workdir: Path) -> Meltano:
    """Meltano with a private system database in `workdir` (so private state), using `sim`."""
    env = clean_env() | {
        "MELTANO_PROJECT_ROOT": str(ROOT),
        "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
        "TAP_CENTAUR_API_URL": sim.url,
        "TAP_CENTAUR_API_KEY": sim.config.api_key,
        "TAP_CENTAUR_USERNAME": sim.config.username,
        "TAP_CENTAUR_API_PASSWORD": sim.config.api_password,
        "TAP_CENTAUR_TASK_IDS": json.dumps(sim.task_ids()),
        "TAP_CENTAUR_PAGE_SIZE": "40",
        "TARGET_JSONL_DESTINATION_PATH": str(workdir / "jsonl"),
    }
    return Meltano(meltano_bin, env, workdir)


@contextlib.contextmanager
def schema_for(
    pg_settings: dict[str, str], meltano: Meltano, target: str = "target-postgres"
) -> Iterator[Postgres]:
    database = Postgres(pg_settings, f"e2e_{uuid.uuid4().hex[:12]}")
    meltano.env[f"{target.upper().replace('-', '_')}_DEFAULT_TARGET_SCHEMA"] = database.schema
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def meltano(meltano_bin: str, sim: Simulator, tmp_path: Path) -> Meltano:
    return meltano_for(meltano_bin, sim, tmp_path)


@pytest.fixture
def postgres(pg_settings: dict[str, str], meltano: Meltano) -> Iterator[Postgres]:
    with schema_for(pg_settings, meltano) as database:
        yield database


def truth_by_key(sim: Simulator, task_ids: Collection[int] | None = None) -> Rows:
    emitted = as_emitted(sim.truth(), CASE_RESULT_SCHEMA)
    return by_key(r for r in emitted if task_ids is None or r["task_id"] in task_ids)


def same(stored: Any, emitted: Any) -> bool:
    """Whether a stored value is the emitted one: JSON text or JSON, numbers of any width."""
    if isinstance(stored, str) and isinstance(emitted, dict | list):
        stored = json.loads(stored)
    if isinstance(stored, Decimal | float) and type(emitted) in (int, float):
        return float(stored) == float(emitted)
    return bool(stored == emitted) and type(stored) is type(emitted)


def assert_rows_match(rows: Rows, truth: Rows, schema: dict[str, Any] = CASE_RESULT_SCHEMA) -> None:
    """Exactly the cases of `truth`, each field as the tap emits it (one the row lacks: null)."""
    assert set(rows) == set(truth)
    for key, expected in truth.items():
        for name in schema["properties"]:
            stored, value = rows[key].get(name), expected.get(name)
            assert same(stored, value), (key, name, stored, value)


def read_jsonl(path: Path) -> Rows:
    return by_key(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())


def first_pages(sim: Simulator, path: str = RESULTS_V1) -> list[dict[str, str]]:
    """The parameters of each recorded first-page request to `path`: one per partition read."""
    asked = [(r["path"], dict(parse_qsl(r["query"]))) for r in sim.requests()]
    return [params for at, params in asked if at == path and "last_sequence_id" not in params]


def first_pages_per_task(sim: Simulator, path: str = RESULTS_V1) -> Counter[int]:
    return Counter(int(params["task_id"]) for params in first_pages(sim, path))


def record_counts(log: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for found in filter(None, map(METRIC.search, log.splitlines())):
        metric = json.loads(found.group(1))
        if metric.get("metric") == "record_count":
            counts[metric["tags"]["stream"]] += int(metric["value"])
    return counts


def bookmarks(state: dict[str, Any], stream: str = "task_results") -> dict[int, str]:
    """{task_id: replication_key_value} of a state stored by Meltano ({"singer_state": ...})."""
    partitions = state["singer_state"]["bookmarks"].get(stream, {}).get("partitions", [])
    return {int(p["context"]["task_id"]): p["replication_key_value"] for p in partitions}


def updated_after(bookmark: str) -> str:
    """The `updated_after` the tap sends for a bookmark (UTC, whole seconds, no offset)."""
    return datetime.fromisoformat(bookmark).strftime("%Y-%m-%dT%H:%M:%S")


def just_after(*bookmark_values: str) -> float:
    """An update time one second after the latest bookmark: the earliest change to read next."""
    return max(datetime.fromisoformat(b).timestamp() for b in bookmark_values) + 1.0


def activate_versions(output: str) -> int:
    found = re.search(r"(\d+) activate version messages", output)
    assert found, "target-postgres logged no summary"
    return int(found.group(1))


def assert_nothing_deleted(postgres: Postgres, *tables: str) -> None:
    """No row of `tables` is marked deleted (`_sdc_deleted_at`, set on ACTIVATE_VERSION)."""
    for table in tables:
        sql = f"SELECT count(*) FROM {{schema}}.{table} WHERE _sdc_deleted_at IS NOT NULL"
        assert postgres.scalar(sql) == 0, f"rows of {table} marked deleted"
