"""What the user may tell us about the engine; apart from ``engine.py`` so that the command line can
declare its options without importing the engine client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PULL_POLICIES = ("missing", "always", "never")


@dataclass
class EngineOptions:
    """How to reach the engine and what it may do for us."""

    host: str | None = None  # like `docker --host`; default: DOCKER_HOST, the current context, the local socket
    pull: str = "missing"  # missing | always | never
    progress: bool = False  # draw progress bars on stderr
    client: Any = field(default=None, repr=False)  # an existing docker.DockerClient, for API users
