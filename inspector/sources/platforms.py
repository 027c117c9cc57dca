"""Platforms as ``--platform`` spells them (``linux/amd64``, ``linux/arm64/v8``) and as indexes store them."""

from __future__ import annotations

import platform as _host
from dataclasses import dataclass
from typing import Any

from ..errors import BadReferenceError

_MACHINE_TO_GOARCH = {
    "x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
    "armv6l": "arm", "i386": "386", "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
}
_DEFAULT_VARIANT = {"arm64": "v8"}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise BadReferenceError(f"platform {text!r} is not of the form os/arch[/variant]")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    @classmethod
    def host(cls) -> Platform:
        machine = _host.machine().lower()
        return cls("linux", _MACHINE_TO_GOARCH.get(machine, machine))

    @classmethod
    def from_descriptor(cls, descriptor: dict[str, Any]) -> Platform | None:
        """The ``platform`` object of an index entry, if it names an OS and an architecture."""
        plat = descriptor.get("platform")
        return cls.from_fields(plat) if isinstance(plat, dict) else None

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Platform | None:
        """``os``/``architecture``/``variant`` of a platform object or an image config (None: not named)."""
        os_name, arch, variant = fields.get("os"), fields.get("architecture"), fields.get("variant")
        if not isinstance(os_name, str) or not isinstance(arch, str) or not os_name or not arch:
            return None
        return cls(os_name, arch, variant if isinstance(variant, str) and variant else None)

    def matches(self, wanted: Platform) -> bool:
        """Same OS and architecture; a variant only has to agree when both name one."""
        if (self.os, self.architecture) != (wanted.os, wanted.architecture):
            return False
        mine = self.variant or _DEFAULT_VARIANT.get(self.architecture)
        theirs = wanted.variant or _DEFAULT_VARIANT.get(wanted.architecture)
        return mine is None or theirs is None or mine == theirs

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)
