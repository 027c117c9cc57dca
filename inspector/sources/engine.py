"""Images straight from a Docker-API engine (Docker, or Podman's compatible socket).

The image is streamed out with the SDK's save call and parsed while it arrives by the same one-pass
reader as a piped archive: nothing is written to disk and layer bytes are never buffered.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from typing import IO, Any

from ..errors import EngineError
from ..fs.cache import LayerCache
from ..limits import DEFAULT, Limits
from .engine_options import PULL_POLICIES, EngineOptions
from .interface import Image, ImageMeta, LayerInfo, LayerScanner, T
from .layout import Selector
from .platforms import Platform
from .progress import Progress
from .stream import StreamedImage
from .verify import Verification

__all__ = ["PULL_POLICIES", "EngineOptions", "EngineUnreachableError", "open_engine_image"]

SAVE_CHUNK = 1 << 20


def open_engine_image(name: str, selector: Selector, options: EngineOptions | None = None,
                      verification: Verification | None = None, limits: Limits = DEFAULT,
                      configs: LayerCache | None = None) -> Image:
    """Find (or pull) ``name`` in the engine; its ``docker save`` stream is opened only if needed."""
    options = options or EngineOptions()
    if not name:
        raise EngineError("docker: needs an image name, e.g. docker:busybox:latest")
    attrs = _quick_inspect(name, selector, options)
    client = options.client
    if attrs is None:
        client = client or connect(options.host)
        attrs = _ensure_present(client, name, selector, options, Progress(enabled=options.progress))
    answered = attrs

    def reopen() -> IO[bytes]:
        return _save_stream(client or connect(options.host), name, answered, Progress(enabled=options.progress))

    image_selector = Selector(tag=None, platform=selector.platform, platform_explicit=selector.platform_explicit)
    rootfs = attrs.get("RootFS")
    layers = rootfs.get("Layers") if isinstance(rootfs, dict) else None
    diff_ids = layers if isinstance(layers, list) else None
    saved = StreamedImage(None, f"docker:{name}", image_selector, f"docker:{name}", "docker", diff_ids=diff_ids,
                          verification=verification, limits=limits, reopen=reopen)
    return EngineImage(name, attrs, saved, configs)


class EngineImage(Image):
    """An image in the engine: answered from the layer cache when it can be, else from `docker save`.

    When every layer is cached and the config is too (keyed by the image ID, which for the classic
    store is the config's digest), only the inspect call has been made: no save at all.
    """

    #: The engine hashed every layer against its diff ID when it stored it: the cache may answer
    #: for the engine's diff IDs without a look at any blob (there is none to look at).
    diff_ids_vouched = True

    def __init__(self, name: str, attrs: dict[str, Any], saved: StreamedImage, configs: LayerCache | None) -> None:
        self._name = name
        self._attrs = attrs
        self._saved = saved
        self._configs = configs
        self._cached_meta: ImageMeta | None = None
        self._used_save = False
        self.verification = saved.verification

    @property
    def meta(self) -> ImageMeta:
        if not self._used_save and self._cached_meta is not None:
            return self._cached_meta
        return self._saved.meta

    def known_diff_ids(self) -> list[str | None] | None:
        return self._saved.known_diff_ids()

    def scan_layers(self, scanner: LayerScanner[T], skip: Callable[[LayerInfo], bool] | None = None
                    ) -> Iterator[tuple[LayerInfo, T | None]]:
        meta = self._meta_from_cache()
        if meta is not None and skip is not None and all(skip(info) for info in meta.layers):
            self._cached_meta = meta
            for info in meta.layers:
                yield info, None
            return
        self._used_save = True
        yield from self._saved.scan_layers(scanner, skip)
        if self._configs is not None and self._saved.meta.raw_config:
            self._configs.put_config(self._saved.meta.id, self._saved.meta.raw_config)

    def read_layers(self, wanted: set[int], consumer: Callable[[LayerInfo, IO[bytes]], None]) -> None:
        if not self._used_save:
            for _ in self.scan_layers(lambda stream: None):  # learn which member is which layer
                pass
        self._saved.read_layers(wanted, consumer)

    def _meta_from_cache(self) -> ImageMeta | None:
        image_id = self._attrs.get("Id")
        if self._configs is None or not isinstance(image_id, str):
            return None
        data = self._configs.get_config(image_id)
        if data is None:
            return None
        try:
            config = json.loads(data)
            diff_ids = config["rootfs"]["diff_ids"]
        except (ValueError, KeyError, TypeError):
            return None
        known = self.known_diff_ids()
        if not isinstance(diff_ids, list) or known is None or diff_ids != known:
            return None
        tags = self._attrs.get("RepoTags")
        repo_tags = tags if isinstance(tags, list) else []
        layers = [LayerInfo(i, None, d, None, None) for i, d in enumerate(diff_ids)]
        return ImageMeta(reference=f"docker:{self._name}", id=image_id, config=config, layers=layers,
                         repo_tags=[t for t in repo_tags if isinstance(t, str)], source="docker", raw_config=data)

    def close(self) -> None:
        self._saved.close()


def _quick_inspect(name: str, selector: Selector, options: EngineOptions) -> dict[str, Any] | None:
    """The image's inspect record without the SDK (see ``engine_socket``), when nothing else is needed:
    the image is present, in the platform asked for, and no pull is wanted. None: use the SDK."""
    if options.client is not None or options.pull == "always":
        return None
    from . import engine_socket  # http.client and email: 16 ms that file sources need not pay

    path = engine_socket.local_socket(options.host)
    attrs = engine_socket.inspect_image(path, name) if path is not None else None
    if attrs is None or (selector.platform_explicit and not _platform_matches(attrs, selector.platform)):
        return None
    return attrs


def connect(host: str | None = None) -> Any:
    """A client for the engine the user means, with errors that say how to get one."""
    import docker
    from docker.errors import DockerException

    where = host or os.environ.get("DOCKER_HOST") or _context_host() or "unix:///var/run/docker.sock"
    try:
        if host or not os.environ.get("DOCKER_HOST") and _context_host():
            client = docker.DockerClient(base_url=where)
        else:
            client = docker.from_env()
        client.ping()
        return client
    except DockerException as exc:
        raise _engine_error(exc, where) from exc
    except Exception as exc:  # requests' connection errors do not all derive from DockerException
        raise _engine_error(exc, where) from exc


def _context_host() -> str | None:
    """The endpoint of the current `docker context` (DOCKER_CONTEXT or ~/.docker/config.json)."""
    try:
        from docker.context import ContextAPI

        context = ContextAPI.get_current_context()
    except Exception:
        return None
    if context is None or context.name == "default":
        return None
    host = context.Host
    return host if isinstance(host, str) else None


class EngineUnreachableError(EngineError):
    """No engine answered (or it refused us the socket): a bare name may then go to its registry."""


def _engine_error(exc: BaseException, where: str) -> EngineError:
    text = str(exc)
    if isinstance(exc, PermissionError) or "Permission denied" in text or "PermissionError" in text:
        return EngineUnreachableError(f"permission denied on the Docker socket {where}: add your user to the "
                                      "'docker' group or run as a user who may use it")
    return EngineUnreachableError(f"no Docker engine reachable at {where}: start one (e.g. "
                                  "`sudo systemctl start docker` or `dockerd`), or point DOCKER_HOST or --host at a "
                                  "running engine (Podman: unix://$XDG_RUNTIME_DIR/podman/podman.sock)")


def _ensure_present(client: Any, name: str, selector: Selector, options: EngineOptions,
                    progress: Progress) -> dict[str, Any]:
    """Inspect the image, pulling it first when the policy allows and it is missing or stale."""
    from docker.errors import APIError, ImageNotFound, NotFound

    if options.pull not in PULL_POLICIES:
        raise EngineError(f"--pull must be one of {', '.join(PULL_POLICIES)}")
    attrs = None
    if options.pull != "always":
        try:
            attrs = client.api.inspect_image(name)
        except (ImageNotFound, NotFound):
            attrs = None
        except APIError as exc:
            raise EngineError(f"the engine refused to inspect {name}: {_explain(exc)}") from exc
    if attrs is not None and selector.platform_explicit and not _platform_matches(attrs, selector.platform):
        attrs = None if options.pull != "never" else attrs
        if attrs is not None:
            raise EngineError(f"{name} in the engine is {_platform_of(attrs)}, not {selector.platform}, "
                              "and --pull never forbids pulling it")
    if attrs is None:
        if options.pull == "never":
            raise EngineError(f"image {name} is not in the engine, and --pull never forbids pulling it")
        _pull(client, name, selector, progress)
        try:
            attrs = client.api.inspect_image(name)
        except (ImageNotFound, NotFound, APIError) as exc:
            raise EngineError(f"image {name} was pulled but the engine cannot find it: {_explain(exc)}") from exc
    if not isinstance(attrs, dict):
        raise EngineError(f"the engine's description of {name} is not a JSON object")
    return attrs


def _pull(client: Any, name: str, selector: Selector, progress: Progress) -> None:
    from docker.errors import APIError, DockerException

    repository, tag = _split_tag(name)
    platform = str(selector.platform) if selector.platform_explicit and selector.platform else None
    try:
        events = client.api.pull(repository, tag=tag, stream=True, decode=True, platform=platform)
        for event in events:
            if "error" in event:
                raise EngineError(f"image {name} is not in the engine and could not be pulled: {event['error']}")
            progress.pull_event(name, event)
    except APIError as exc:
        raise EngineError(f"image {name} is not in the engine and could not be pulled: {_explain(exc)}") from exc
    except DockerException as exc:
        raise EngineError(f"pulling {name} failed: {exc}") from exc
    finally:
        progress.done()


def _save_stream(client: Any, name: str, attrs: dict[str, Any], progress: Progress) -> io.BufferedReader:
    from docker.errors import APIError

    try:
        chunks = client.api.get_image(name, chunk_size=SAVE_CHUNK)
    except APIError as exc:
        raise EngineError(f"the engine refused to save {name}: {_explain(exc)}") from exc
    expected = attrs.get("Size") if isinstance(attrs.get("Size"), int) else None
    return io.BufferedReader(_ChunkReader(progress.track_save(name, chunks, expected)), buffer_size=SAVE_CHUNK)


class _ChunkReader(io.RawIOBase):
    """A file-like view of the SDK's generator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        from docker.errors import DockerException

        while not self._pending:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                return 0
            except DockerException as exc:
                raise EngineError(f"the engine's save stream failed: {exc}") from exc
            except OSError as exc:
                raise EngineError(f"the engine's save stream broke off: {exc}") from exc
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _split_tag(name: str) -> tuple[str, str | None]:
    if "@" in name:
        repository, _, digest = name.partition("@")
        return repository, digest
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repository, _, tag = name.rpartition(":")
        return repository, tag
    return name, "latest"


def _platform_of(attrs: dict[str, Any]) -> Platform:
    return Platform(attrs.get("Os") or "linux", attrs.get("Architecture") or "unknown", attrs.get("Variant") or None)


def _platform_matches(attrs: dict[str, Any], wanted: Platform | None) -> bool:
    return wanted is None or _platform_of(attrs).matches(wanted)


def _explain(exc: Any) -> str:
    explanation = getattr(exc, "explanation", None)
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf-8", "replace")
    if isinstance(explanation, str) and explanation:
        try:
            data = json.loads(explanation)
        except ValueError:
            return explanation
        message = data.get("message") if isinstance(data, dict) else None
        return message if isinstance(message, str) else explanation
    return str(exc)
