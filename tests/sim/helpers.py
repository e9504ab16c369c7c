"""Type aliases for the simulator test fixtures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from centaur_sim import Simulator

Page = dict[str, Any]
MakeSim = Callable[..., Simulator]
NewSession = Callable[..., requests.Session]
LoginToken = Callable[[Simulator], str]
Walk = Callable[..., tuple[list[Page], list[Page]]]
