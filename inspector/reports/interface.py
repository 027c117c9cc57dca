"""What every report reads: the image's metadata and its merged filesystem, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..fs import MergedFS
from ..sources.interface import ImageMeta

T = TypeVar("T")


@dataclass
class Inspection:
    """An image read once: reports are pure functions of this."""

    meta: ImageMeta
    fs: MergedFS
    size: int = 0  # bytes of uncompressed layer tars
    verification: dict[str, Any] | None = None  # what was checked against digests while reading
    #: Results several reports share (the executables, the Java runtimes): computed once per inspection,
    #: since the summary, the package view and the policy each ask (``audit`` asks all three per image).
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked for; the same value after (the inspection's
        metadata and filesystem do not change once read, so neither does a pure function of them)."""
        if key not in self.memo:
            self.memo[key] = compute()
        value: T = self.memo[key]
        return value

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


def meta_fields(meta: ImageMeta) -> dict[str, Any]:
    """The image fields that name this copy of the image (how it was asked for, its tags and digests),
    not its layers or config."""
    return {
        "reference": meta.reference,
        "id": meta.id,
        "manifest_digest": meta.manifest_digest,
        "repo_tags": meta.repo_tags,
        "source": meta.source,
    }
