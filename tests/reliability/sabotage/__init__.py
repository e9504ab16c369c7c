"""Deliberate bugs for the reliability suite (see sitecustomize.py)."""
