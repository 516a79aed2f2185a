"""``python -m rotator``."""

from rotator.cli import main

main()
