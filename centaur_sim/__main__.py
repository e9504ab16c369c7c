"""Entry point of `python -m centaur_sim`."""

import sys

from centaur_sim.cli import main

sys.exit(main())
