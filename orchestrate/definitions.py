"""The code location: this repository's Meltano project, its jobs and schedules in Dagster.

The project is the one in MELTANO_PROJECT_ROOT (default: this repository), run by the
`meltano` in MELTANO_BIN (default: the one on PATH):

    dagster dev -m orchestrate.definitions
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestrate.meltano_jobs import definitions

defs = definitions(
    os.environ.get("MELTANO_PROJECT_ROOT", str(Path(__file__).resolve().parent.parent)),
    os.environ.get("MELTANO_BIN", "meltano"),
)
