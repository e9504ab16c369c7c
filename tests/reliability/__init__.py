"""The reliability suite of issue 5 (see docs/RELIABILITY.md)."""
