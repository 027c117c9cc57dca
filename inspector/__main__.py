"""``python -m inspector`` runs the same command as ``inspect-image``."""

from .cli import main

main()
