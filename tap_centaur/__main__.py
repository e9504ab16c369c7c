"""`python -m tap_centaur`."""

from tap_centaur.cli import main

main()
