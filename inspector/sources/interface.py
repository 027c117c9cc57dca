"""The one interface between where an image comes from and what we do with it.

Like go-containerregistry's ``v1.Image``: a source (an archive, an OCI layout, the engine) yields an
``Image``, whose metadata is the config plus the ordered layer descriptors and whose layers are
handed out as uncompressed tar streams. Nothing downstream knows which source it was.

One-pass sources (a pipe, the engine's ``docker save`` stream) cannot hand out layers in stack
order, because ``manifest.json`` arrives after them. So instead of ``open(layer)`` the interface is
``scan_layers(scanner)``: the source runs ``scanner`` over each layer's tar stream in whatever order
the bytes come and yields the results in stack order. Random-access sources scan lazily, one layer
at a time; one-pass sources keep only the scanner's results (never layer bytes) until the end.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple, Protocol, TypeVar

T = TypeVar("T")

#: Reads one layer's *uncompressed* tar stream to its end and returns what it learned.
LayerScanner = Callable[[IO[bytes]], T]


class SplitScanner(Protocol[T]):
    """A scanner a source may run over two layers at once when ``parallel`` is True (the registry
    does, ``fs.LayerScanner`` allows it): ``scan`` on any thread, then ``settle`` each result on the
    consumer's thread in stack order (where the image-wide limits are checked)."""

    parallel: bool

    def __call__(self, stream: IO[bytes]) -> T: ...

    def scan(self, stream: IO[bytes]) -> T: ...

    def settle(self, result: T) -> None: ...


@dataclass(frozen=True)
class LayerInfo:
    """Where a layer sits in the stack and how it was stored."""

    index: int  # 0 = base layer
    digest: str | None  # digest of the blob as stored (compressed or not), if the source knows it
    diff_id: str | None  # digest of the uncompressed tar, from the config's rootfs.diff_ids
    media_type: str | None
    size: int | None  # stored size in bytes, if known


class StoredForm(NamedTuple):
    """How a layer's blob is stored, as far as a cheap look can tell (no byte of it read).

    ``size`` is the blob's length as found now (a stat, a tar member header), not as claimed;
    ``digest`` the descriptor's digest (a claim, None in a legacy ``docker save``). The layer cache
    records the forms in which it saw a layer's bytes hash to their diff ID, and answers for a
    layer only in one of those forms: a longer or shorter blob, or another digest, is read again.
    """

    size: int
    digest: str | None


@dataclass
class ImageMeta:
    """Everything about an image except its layer contents."""

    reference: str  # what the user asked for, as resolved ("docker-archive:x.tar:app:1")
    id: str  # config digest, "sha256:..." (what `docker images --no-trunc` calls the image ID)
    config: dict[str, Any]  # the image config JSON, as stored
    layers: list[LayerInfo]
    repo_tags: list[str] = field(default_factory=list)
    manifest_digest: str | None = None
    source: str = ""  # "docker-archive", "oci", "oci-archive", "docker"
    raw_config: bytes = field(default=b"", repr=False)  # the config as stored, whose digest is ``id``
    notes: list[str] = field(default_factory=list)  # what the source skipped to find it (signatures...), for stderr


class Image(ABC):
    """An image from any source: metadata plus layers readable as uncompressed tar streams."""

    #: ``sources.verify.Verification``: what was checked against its digest while reading.
    verification: Any

    #: True when the source itself hashed every layer against its diff ID before handing us those
    #: IDs (the engine did when it stored them): a cached scan may then answer on the diff ID alone.
    diff_ids_vouched: bool = False

    #: Opens this same image again, by handles of its own (a helper process calls it after a fork:
    #: ``parallel``): set only for an archive or a layout on disk, never for standard input, a pipe,
    #: the engine or a registry.
    reopen: Callable[[], Image] | None = None

    @property
    @abstractmethod
    def meta(self) -> ImageMeta:
        """The image's metadata. One-pass sources know it only after ``scan_layers`` has run."""

    @abstractmethod
    def scan_layers(self, scanner: LayerScanner[T], skip: Callable[[LayerInfo], bool] | None = None
                    ) -> Iterator[tuple[LayerInfo, T | None]]:
        """Run ``scanner`` over every layer and yield ``(info, result)`` base layer first.

        Layers for which ``skip(info)`` is true are yielded with ``None`` and, where the source can
        avoid it, not read at all (used when two images share their base layers). One-pass sources
        cannot skip bytes that are streaming past anyway; they may still yield a result.
        """

    def read_layers(self, wanted: set[int], consumer: Callable[[LayerInfo, IO[bytes]], None]) -> None:
        """Hand ``consumer`` the uncompressed tar stream of each wanted layer, after ``scan_layers``.

        The second look that ``cat`` and ``export`` need once the merged view says which layer
        holds which file. Sources that cannot be read twice (standard input, a FIFO) refuse.
        """
        from ..errors import InspectorError

        raise InspectorError("this source can be read only once; save the image to a file first "
                             "(docker save -o image.tar NAME)")

    def known_diff_ids(self) -> list[str | None] | None:
        """The layers' diff IDs if known before reading them (None for a one-pass stream)."""
        return None

    def stored_form(self, info: LayerInfo) -> StoredForm | None:
        """How layer ``info`` is stored now, found without reading it; None if this source cannot
        tell cheaply. Raises ``ImageFormatError`` when the blob is missing, as reading it would."""
        return None

    def verify_layer(self, info: LayerInfo) -> bool:
        """Read layer ``info`` in full and check it against its diff ID, without scanning it.

        True when its bytes hashed to its diff ID in this run, so that a scan of the same diff ID
        made from other bytes may stand in for it (``diff`` shares base layers so); False when this
        source cannot (a one-pass stream). Raises ``VerificationError`` on a mismatch.
        """
        return False

    def close(self) -> None:  # noqa: B027 - optional: a source holding nothing open need not override it
        """Release files and connections; idempotent."""

    def __enter__(self) -> Image:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
