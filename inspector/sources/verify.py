"""Checking bytes against their digests: layers against the config's diff IDs, blobs against descriptors.

Where the bytes pass through us anyway (a compressed layer, a one-pass stream) the layer's diff ID
is checked by default: hashing costs CPU but no extra read. ``--verify`` also reads uncompressed
layers of random-access archives in full, and checks every stored blob's own digest.

A digest is accepted only in a spelling we can check: ``sha256:`` with 64 or ``sha512:`` with 128
lowercase hex digits (``parse_digest``). Anything else (``md5:``, uppercase hex, a lookalike
``shа256`` with a Cyrillic ``а``, a trailing newline) is refused, never skipped: a digest we
cannot check would otherwise pass as checked, and print as an ID that looks genuine.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import VerificationError
from .interface import LayerInfo

ALGORITHMS = {"sha256": 64, "sha512": 128}  # what we can check, and the hex length of each
BOTH = tuple(ALGORITHMS)
_HEX = frozenset("0123456789abcdef")
_SHOWN = 160  # characters of a refused digest quoted in the error


def parse_digest(text: object, where: str | None = None) -> tuple[str, str]:
    """``sha256:<64 hex>`` or ``sha512:<128 hex>`` → ``(algorithm, hex)``; any other digest is refused.

    The one place a digest's spelling is judged (documents, blobs, diff IDs, blob paths, cache
    names), so all of them accept exactly what the others can check.
    """
    if isinstance(text, str):
        algorithm, colon, encoded = text.partition(":")
        if colon and ALGORITHMS.get(algorithm) == len(encoded) and _HEX.issuperset(encoded):
            return algorithm, encoded
    raise VerificationError(f"unsupported or malformed digest {shown_digest(text)}: only sha256 (64) and "
                            "sha512 (128 lowercase hex digits) can be checked", where=where)


def is_digest(text: object) -> bool:
    """Whether ``text`` is a digest ``parse_digest`` accepts."""
    try:
        parse_digest(text)
    except VerificationError:
        return False
    return True


def shown_digest(text: object) -> str:
    """A digest as an error may show it: escaped (``\x1b``, ``\u0430``), and cut if long."""
    if not isinstance(text, str):
        return f"of type {type(text).__name__}"
    if len(text) <= _SHOWN:
        return ascii(text)
    return f"{text[:_SHOWN]!a}… ({len(text):,} characters)"


def algorithms_for(*digests: str | None) -> tuple[str, ...]:
    """What to hash so that each of ``digests`` can be checked (sha256 always, for the cache)."""
    wanted = {"sha256"} | {d.partition(":")[0] for d in digests if d is not None and is_digest(d)}
    return tuple(a for a in ALGORITHMS if a in wanted)


@dataclass
class LayerDigests:
    """What the bytes of one layer hashed to, when they were hashed: ``{algorithm: "algorithm:hex"}``."""

    diff_ids: dict[str, str] = field(default_factory=dict)  # of the uncompressed tar
    blobs: dict[str, str] = field(default_factory=dict)  # of the stored (maybe compressed) blob


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
        computed = None
        if info.diff_id is not None:
            algorithm, _ = parse_digest(info.diff_id, where)
            computed = digests.diff_ids.get(algorithm)
        if computed is not None:
            if computed != info.diff_id:
                raise VerificationError(f"layer {info.index} does not match its diff_id: the config says "
                                        f"{info.diff_id}, the content is {computed}", where=where)
            self.layers_checked += 1
            self.verified.add(info.index)
        else:
            self.layers_unchecked += 1
            if self.full:
                why = "the config has no diff_id for it" if info.diff_id is None else \
                    f"its {info.diff_id.partition(':')[0]} was not computed"
                raise VerificationError(f"layer {info.index} cannot be verified: {why}", where=where)
        if info.digest is not None:
            algorithm, _ = parse_digest(info.digest, where)
            blob = digests.blobs.get(algorithm)
            if blob is not None:
                if blob != info.digest:
                    raise VerificationError(f"layer {info.index} blob does not match its digest {info.digest}: "
                                            f"it is {blob}", where=where)
                self.blobs_checked += 1

    def check_document(self, data: bytes, expected: str | None, what: str, where: str) -> None:
        """Configs and manifests are read whole anyway: always compare them with their digest."""
        if expected is None:
            return
        algorithm, encoded = parse_digest(expected, where)
        actual = hashlib.new(algorithm, data).hexdigest()
        if actual != encoded:
            raise VerificationError(f"{what} does not match its digest {expected}: it is {algorithm}:{actual}",
                                    where=where)
        self.documents_checked += 1

    def to_json(self) -> dict[str, Any]:
        return {"full": self.full, "layers_checked": self.layers_checked, "layers_unchecked": self.layers_unchecked,
                "blobs_checked": self.blobs_checked, "documents_checked": self.documents_checked}
