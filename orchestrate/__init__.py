"""Dagster code location of this Meltano project (`dagster dev -m orchestrate.definitions`)."""
