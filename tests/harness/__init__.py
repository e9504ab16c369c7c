"""The one way tests run the tap: this suite's credentials, simulators, tap runs and checks.

`TapRunner.run` (the `tap` fixture) runs the `tap-centaur` command with a config (a file, or
`--config ENV` with TAP_CENTAUR_* variables), an optional state file and extra arguments:

- in-process by default (`in_process.py`), through the command's own entry point, the
  process left as it was afterwards;
- as a subprocess, `python -m tap_centaur` (`process.py`), where the process itself is what
  is tested: with `in_subprocess=True`, with a `Stop` (a signal after N bytes of stdout, N
  seconds or a text, behind a slow, blocked or closed reader), with `stdout` a file, and for
  every run when RELIABILITY_SABOTAGE is set, since a sabotage patches the tap at start.

Either way the Singer output is parsed into a `Run` (`output.py`; a last line cut short is
an error unless the run was stopped), and the run is checked to have leaked no secret
(`checks.py`): the suite's API key, API password and bearer token (`credentials.py`), every
session token the test's simulators issued (`sims.py`), the credentials in the run's config
and any extra secret of the test, in stdout, stderr, the STATE messages and the state file
written from the last STATE.
"""

from tests.harness.checks import (
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
)
from tests.harness.output import Run
from tests.harness.process import SABOTAGE_ENV, Stop
from tests.harness.runner import TapRunner, at_levels
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
