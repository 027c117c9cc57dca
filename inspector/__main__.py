"""``python -m inspector`` runs the same command as ``inspect-image``."""

from .launch import main

main()
