"""Checking bytes against their digests: layers against the config's diff IDs, blobs against descriptors.

Where the bytes pass through us anyway (a compressed layer, a one-pass stream) the layer's diff ID
is checked by default: hashing costs CPU but no extra read. ``--verify`` also reads uncompressed
layers of random-access archives in full, and checks every stored blob's own digest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import VerificationError
from .interface import LayerInfo


@dataclass
class LayerDigests:
    """What the bytes of one layer hashed to, when they were hashed."""

    diff_id: str | None = None  # sha256 of the uncompressed tar
    blob: str | None = None  # sha256 of the stored (maybe compressed) blob


@dataclass
class Verification:
    """What was checked while the image was read; reported in the summary."""

    full: bool = False  # --verify
    hash_layers: bool = False  # hash every layer read, even seekable ones (to cache it safely)
    layers_checked: int = 0
    layers_unchecked: int = 0
    blobs_checked: int = 0
    documents_checked: int = 0  # config, manifests, indexes
    verified: set[int] = field(default_factory=set)  # indexes of the layers whose diff ID matched

    def check_layer(self, info: LayerInfo, digests: LayerDigests, where: str) -> None:
        if digests.diff_id is not None and info.diff_id is not None:
            if digests.diff_id != info.diff_id:
                raise VerificationError(f"layer {info.index} does not match its diff_id: the config says "
                                        f"{info.diff_id}, the content is {digests.diff_id}", where=where)
            self.layers_checked += 1
            self.verified.add(info.index)
        else:
            self.layers_unchecked += 1
            if self.full and info.diff_id is None:
                raise VerificationError(f"layer {info.index} cannot be verified: the config has no diff_id for it",
                                        where=where)
        if digests.blob is not None and info.digest is not None and info.digest.startswith("sha256:"):
            if digests.blob != info.digest:
                raise VerificationError(f"layer {info.index} blob does not match its digest {info.digest}: "
                                        f"it is {digests.blob}", where=where)
            self.blobs_checked += 1

    def check_document(self, data: bytes, expected: str | None, what: str, where: str) -> None:
        """Configs and manifests are read whole anyway: always compare them with their digest."""
        if not expected or not expected.startswith("sha256:"):
            return
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise VerificationError(f"{what} does not match its digest {expected}: it is {actual}", where=where)
        self.documents_checked += 1

    def to_json(self) -> dict[str, Any]:
        return {"full": self.full, "layers_checked": self.layers_checked, "layers_unchecked": self.layers_unchecked,
                "blobs_checked": self.blobs_checked, "documents_checked": self.documents_checked}
