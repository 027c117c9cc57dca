"""Where a file's bytes live: the layer and tar member that wrote them.

``cat`` and ``export`` first build the merged view, which says which layer's member holds each
surviving file (hardlinks share their source's origin); then they read just those layers again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from ..fs.node import LayerSlot, Node
from ..tarheader import TarMember
from ..tarwalk import TarWalk


@dataclass(frozen=True)
class Origin:
    slot: LayerSlot  # the layer; its index is known once merged
    offset: int  # the member's header offset in that layer's tar: unique, unlike names

    @property
    def layer(self) -> int:
        return self.slot.index


def origin_probe(path: str, node: Node, member: TarMember) -> Callable[[IO[bytes]], Origin]:
    """A content probe that reads nothing and remembers where the bytes are."""
    origin = Origin(node.layer, member.offset)
    return lambda _stream: origin


def copy_members(stream: IO[bytes], wanted: set[int], sink: Callable[[int, IO[bytes]], None]) -> None:
    """Hand ``sink`` the content of each member of a layer tar whose header offset is in ``wanted``."""
    tar = TarWalk(stream)
    remaining = set(wanted)
    for member in tar:
        if not remaining:
            break
        if member.offset in remaining and member.isreg() and not member.sparse:
            remaining.discard(member.offset)
            sink(member.offset, tar.reader(member))
