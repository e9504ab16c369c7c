"""Simulators with this suite's credentials, recording every session token they issue."""

from __future__ import annotations

from typing import Any

from centaur_sim import SimConfig, Simulator
from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tests.harness.checks import as_emitted
from tests.harness.credentials import API_KEY, API_PASSWORD, STATIC_TOKEN, USERNAME

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
        """(task_id, case_id) of every case the simulator holds now."""
        return {(c["task_id"], c["case_id"]) for c in self.truth(task_id)}

    def emitted(self, task_id: int | None = None) -> list[dict[str, Any]]:
        """The current case results (one task or all) as the tap emits them."""
        return as_emitted(self.truth(task_id), CASE_RESULT_SCHEMA)

    def truth_by_key(self) -> dict[tuple[int, int], dict[str, Any]]:
        return {(c["task_id"], c["case_id"]): c for c in self.emitted()}


def sim_config(**overrides: Any) -> SimConfig:
    """SimConfig's defaults, the suite's credentials and no Retry-After wait, `overrides`."""
    credentials = {"api_key": API_KEY, "username": USERNAME, "api_password": API_PASSWORD}
    return SimConfig(**{**credentials, "static_token": STATIC_TOKEN, "retry_after": 0, **overrides})


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
