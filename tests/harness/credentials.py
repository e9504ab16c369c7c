"""This suite's credentials: distinctive values that cannot appear in any output by accident."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

API_KEY = "tct-apikey-Q7x2Vd9Lm4Kf"
USERNAME = "test-robot@example.com"
API_PASSWORD = "tct-apipass-Zk81Wq3Rt6Yh"
STATIC_TOKEN = "tct-bearer-Hs5Ny0Pc2JuX"
WRONG_PASSWORD = "tct-wrongpass-Mc4Ta9Ke1B"
SECRETS = (API_KEY, API_PASSWORD, STATIC_TOKEN)
SECRET_NAMES = {
    API_KEY: "api_key",
    API_PASSWORD: "api_password",
    STATIC_TOKEN: "bearer_token",
    WRONG_PASSWORD: "a wrong api_password",
}


def login_config(url: str, task_ids: Iterable[int] | None, **extra: Any) -> dict[str, Any]:
    """A config that logs in with username + API password, retrying fast; without task_ids
    (None), the tap syncs every task it lists."""
    tasks = {} if task_ids is None else {"task_ids": list(task_ids)}
    return {
        "api_key": API_KEY,
        "username": USERNAME,
        "api_password": API_PASSWORD,
        "api_url": url,
        **tasks,
        "backoff_factor": 0.001,
        **extra,
    }


def bearer_config(url: str, task_ids: Iterable[int] | None, **extra: Any) -> dict[str, Any]:
    """A config that uses the static bearer token."""
    config = login_config(url, task_ids, **extra)
    del config["username"], config["api_password"]
    return {**config, "bearer_token": STATIC_TOKEN}


def secrets_of(config: dict[str, Any]) -> list[str]:
    """The values of the config's secret settings long enough to search for."""
    values = [config.get(name) for name in ("api_key", "api_password", "bearer_token")]
    return [str(v) for v in values if isinstance(v, (str, int)) and len(str(v)) >= 4]
