"""What every report reads: the image's metadata and its merged filesystem, nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..fs import MergedFS
from ..sources.interface import ImageMeta


@dataclass
class Inspection:
    """An image read once: reports are pure functions of this."""

    meta: ImageMeta
    fs: MergedFS
    size: int = 0  # bytes of uncompressed layer tars
    verification: dict[str, Any] | None = None  # what was checked against digests while reading

    @property
    def container_config(self) -> dict[str, Any]:
        """The ``config`` object of the image config (Entrypoint, Cmd, Env, ...), ``{}`` when absent."""
        config = self.meta.config.get("config")
        return config if isinstance(config, dict) else {}

    @property
    def env(self) -> dict[str, str]:
        env = self.container_config.get("Env")
        pairs = (e.partition("=") for e in env if isinstance(e, str)) if isinstance(env, list) else ()
        return {key: value for key, _, value in pairs}
