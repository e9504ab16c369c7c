"""`python -m tap_centaur`."""

from tap_centaur.tap import main

main()
