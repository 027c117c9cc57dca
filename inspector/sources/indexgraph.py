"""An image index graph walked by digest: each document read once, the whole walk bounded.

Indexes may list other indexes, and nothing stops them from listing the same child many times: a
layout of 8 indexes, each listing the next 32 times, has 32^6 paths to its one manifest, and a walk
that follows paths hangs on a few kilobytes. So every digest's document and leaves are computed
once (memoised) and the descriptors looked at are counted across the whole walk: more than
``MAX_DESCRIPTORS`` is an error, far above any real image (a few dozen platforms and attestations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ImageFormatError

INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
MAX_INDEX_DEPTH = 8
MAX_DESCRIPTORS = 10_000

Descriptor = dict[str, Any]
#: A manifest reachable from a descriptor: its descriptor, and its document (None: not stored here).
Leaf = tuple[Descriptor, "dict[str, Any] | None"]


class IndexGraph:
    """The documents of one layout, reached from ``index.json`` by digest."""

    def __init__(self, location: str, read: Callable[[str], Any], present: Callable[[str], bool]) -> None:
        self._location = location
        self._read = read  # digest -> parsed JSON, checked against the digest
        self._present = present  # digest -> whether its blob is in the store
        self._documents: dict[str, dict[str, Any] | None] = {}
        self._leaves: dict[str, list[Leaf]] = {}
        self._children: dict[str, list[Descriptor]] = {}
        self.visited = 0

    def descriptors(self, document: Any, name: str) -> list[Descriptor]:
        """The descriptors an index lists (those with a string digest), counted against the bound."""
        if not isinstance(document, dict) or not isinstance(document.get("manifests"), list):
            raise ImageFormatError(f"{name} is not an image index", where=self._location)
        listed = document["manifests"]
        self.visited += len(listed)
        if self.visited > MAX_DESCRIPTORS:
            raise ImageFormatError(f"the image index lists more than {MAX_DESCRIPTORS:,} descriptors in all "
                                   "(nested indexes included): not an image", where=self._location)
        return [d for d in listed if isinstance(d, dict) and isinstance(d.get("digest"), str)]

    def document(self, descriptor: Descriptor) -> dict[str, Any] | None:
        """The JSON object ``descriptor`` names, or None when its blob is not in the store."""
        digest = descriptor["digest"]
        if digest not in self._documents:
            if not self._present(digest):
                self._documents[digest] = None
            else:
                document = self._read(digest)
                if not isinstance(document, dict):
                    raise ImageFormatError(f"blob {digest!r} is not a JSON object", where=self._location)
                self._documents[digest] = document
        return self._documents[digest]

    def children(self, descriptor: Descriptor, document: dict[str, Any]) -> list[Descriptor]:
        """What the index ``descriptor`` lists; counted once however often it is reached."""
        digest = descriptor["digest"]
        if digest not in self._children:
            self._children[digest] = self.descriptors(document, f"index {digest!r}")
        return self._children[digest]

    def is_index(self, descriptor: Descriptor, document: dict[str, Any] | None) -> bool:
        media_type = (document or {}).get("mediaType") or descriptor.get("mediaType")
        if isinstance(media_type, str) and media_type:
            return media_type in INDEX_TYPES
        return document is not None and "manifests" in document

    def leaves(self, descriptor: Descriptor, depth: int = 0, path: frozenset[str] = frozenset()) -> list[Leaf]:
        """Every manifest reachable from ``descriptor``, once per digest, in the order first listed."""
        digest = descriptor["digest"]
        if digest in path or depth > MAX_INDEX_DEPTH:
            raise ImageFormatError(f"image index nesting is cyclic or deeper than {MAX_INDEX_DEPTH} at {digest!r}",
                                   where=self._location)
        if digest in self._leaves:
            return self._leaves[digest]
        document = self.document(descriptor)
        if document is None or not self.is_index(descriptor, document):
            found = [(descriptor, document)]
        else:
            unique: dict[str, Leaf] = {}
            for child in self.children(descriptor, document):
                for leaf in self.leaves(child, depth + 1, path | {digest}):
                    unique.setdefault(leaf[0]["digest"], leaf)
            found = list(unique.values())
        self._leaves[digest] = found
        return found

    def find(self, top: list[Descriptor], digest: str) -> tuple[Descriptor, Descriptor] | None:
        """``(descriptor with that digest, the top-level descriptor it was reached from)``, or None."""
        seen: set[str] = set()
        for root in top:
            pending = [(root, 0)]
            while pending:
                descriptor, depth = pending.pop()
                if descriptor["digest"] == digest:
                    return descriptor, root
                if descriptor["digest"] in seen or depth > MAX_INDEX_DEPTH:
                    continue
                seen.add(descriptor["digest"])
                document = self.document(descriptor)
                if document is not None and self.is_index(descriptor, document):
                    children = self.children(descriptor, document)
                    pending.extend((child, depth + 1) for child in reversed(children))
        return None
