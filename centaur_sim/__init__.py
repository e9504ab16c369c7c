"""A local HTTP simulator of the Centaur Labs API: results, tasks, projects (stdlib only)."""

from centaur_sim.config import FAULT_KINDS, LABELING_STATES, SCRIPTED_KINDS, SimConfig
from centaur_sim.misbehave import MISBEHAVIOURS
from centaur_sim.simulator import Simulator

__all__ = [
    "FAULT_KINDS",
    "LABELING_STATES",
    "MISBEHAVIOURS",
    "SCRIPTED_KINDS",
    "SimConfig",
    "Simulator",
]
