"""Hash the files a package may record while the layers stream past, so integrity reads no layer twice.

Which files a package records is known only once its database is read, and a layer tar lists
``/usr/bin/ls`` long before ``/var/lib/dpkg/status``: so during the one scan every regular file is
hashed with the algorithms its image's package managers use, guessed from the paths seen so far
(``/etc/dpkg/`` or ``/etc/debian_version``: dpkg's MD5; ``/etc/apk/``: apk's SHA-1; ``/etc/rpm/``:
SHA-256, rpm's usual one). Before any such path, a small budget of bytes is hashed with all three.

Integrity (``reports.integrity``) takes a digest from here only for the very node the merged view
holds, by identity: a name written twice in one layer, or rewritten as a sparse file, never lends the
older bytes' digest; hardlinks of one layer share their inode's. Whatever this missed (another
algorithm, the budget spent, a hardlink across layers) is read again as before: a wrong guess costs
speed, never exactness. Digests are raw bytes, at most ``MAX_FILES`` of them, so a million-file
image holds a bounded table.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable
from typing import IO, Any

from ..fs.node import Node

ALL = ("md5", "sha1", "sha256")
#: Paths that say which package manager an image uses, and the digest its database records.
HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("/etc/dpkg/", "/var/lib/dpkg/", "/etc/debian_version"), "md5"),
    (("/etc/apk/", "/lib/apk/", "/usr/lib/apk/", "/etc/alpine-release"), "sha1"),
    (("/etc/rpm/", "/var/lib/rpm/", "/usr/lib/sysimage/rpm/", "/etc/dnf/", "/etc/yum.repos.d/",
      "/etc/redhat-release", "/etc/system-release"), "sha256"),
)
#: Trees no package records files in (apt's downloaded .debs, index lists, the databases
#: themselves, logs, scratch): often hundreds of MB a scan need not hash. Should a package record a
#: file there after all, integrity reads it again: a miss costs time, never exactness.
UNRECORDED = ("/var/cache/", "/var/lib/apt/", "/var/lib/dpkg/", "/var/lib/rpm/", "/usr/lib/sysimage/rpm/",
              "/lib/apk/db/", "/usr/lib/apk/db/", "/var/log/", "/tmp/", "/var/tmp/")
UNHINTED_BYTES = 32 << 20  # hashed with every algorithm before any hint (an image with no package manager)
MAX_FILES = 200_000
CHUNK = 1 << 20
THREAD_BYTES = 256 << 10  # files this large are hashed on the hashing thread; smaller ones inline
IN_FLIGHT = 4

Probe = Callable[..., Any]
Digests = tuple[tuple[str, bytes], ...]


class _Hasher(threading.Thread):
    """Hashes chunks handed over by the scan: ``hashlib`` releases the GIL on large buffers, so the
    digests are computed on the other CPU while the scan parses the next headers. At most
    ``IN_FLIGHT`` chunks wait, and read buffers come from a pool of as many: memory stays bounded."""

    def __init__(self, done: Callable[[Node, Digests], None]) -> None:
        super().__init__(name="prehash", daemon=True)
        self._work: queue.Queue[tuple[Any, ...] | None] = queue.Queue(IN_FLIGHT)
        self.buffers: queue.Queue[memoryview] = queue.Queue()
        for _ in range(IN_FLIGHT):
            self.buffers.put(memoryview(bytearray(CHUNK)))
        self._done = done

    def run(self) -> None:
        while True:
            job = self._work.get()
            if job is None:
                return
            if job[0] == "chunk":
                _kind, hashers, data, count, buffer = job
                view = data if count is None else data[:count]
                for hasher in hashers:
                    hasher.update(view)
                if buffer is not None:
                    self.buffers.put(buffer)
            else:
                _kind, node, names, hashers = job
                self._done(node, tuple((name, h.digest()) for name, h in zip(names, hashers, strict=True)))

    def chunk(self, hashers: list[Any], data: Any, count: int | None = None, buffer: memoryview | None = None) -> None:
        self._work.put(("chunk", hashers, data, count, buffer))

    def finish(self, node: Node, names: tuple[str, ...], hashers: list[Any]) -> None:
        self._work.put(("finish", node, names, hashers))

    def stop(self) -> None:
        self._work.put(None)
        self.join()


class _Tee:
    """A member's stream for the wrapped probe: every byte it reads is hashed on the way (small
    files here, larger ones by the ``_Hasher`` thread)."""

    def __init__(self, stream: IO[bytes], hashers: list[Any], worker: _Hasher | None) -> None:
        self._stream = stream
        self._hashers = hashers
        self._worker = worker

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if self._worker is not None and data:
            self._worker.chunk(self._hashers, data)  # bytes: immutable, safe to hash later
        else:
            for hasher in self._hashers:
                hasher.update(data)
        return data

    def drain(self) -> None:
        """Hash what the wrapped probe left unread."""
        stream: Any = self._stream
        if self._worker is None:
            while data := stream.read(CHUNK):
                for hasher in self._hashers:
                    hasher.update(data)
            return
        while True:
            buffer = self._worker.buffers.get()
            count = stream.readinto(buffer)
            if not count:
                self._worker.buffers.put(buffer)
                return
            self._worker.chunk(self._hashers, buffer, count, buffer)


class Prehash:
    """A content probe (``probe``) and merge observer (``observe``) that keep digests per node.
    ``close()`` (after the scan, also after a failed one) waits for the hashing thread."""

    def __init__(self, base: Probe | None) -> None:
        self.base = base
        self.algorithms: tuple[str, ...] | None = None  # None: no hint seen yet
        self.unhinted = 0
        self._nodes: dict[int, tuple[Node, Digests]] = {}  # id(node) → that node (kept alive) and digests
        self._count = 0  # files hashed or being hashed (``_nodes`` fills in as the thread finishes them)
        self._worker: _Hasher | None = None

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _done(self, node: Node, digests: Digests) -> None:
        self._nodes[id(node)] = (node, digests)

    def _hint(self, path: str) -> None:
        for prefixes, algorithm in HINTS:
            if path.startswith(prefixes):
                if self.algorithms is None:
                    self.algorithms = (algorithm,)
                elif algorithm not in self.algorithms:
                    self.algorithms += (algorithm,)

    def _choose(self, size: int) -> tuple[str, ...]:
        if self._count >= MAX_FILES:
            return ()
        if self.algorithms is not None:
            return self.algorithms
        if self.unhinted + size > UNHINTED_BYTES:
            return ()
        self.unhinted += size
        return ALL

    def probe(self, path: str, node: Node, member: Any = None) -> Callable[[IO[bytes]], Any] | None:
        inner = self.base(path, node, member) if self.base is not None else None
        self._hint(path)
        algorithms = self._choose(node.size) if not path.startswith(UNRECORDED) else ()
        if not algorithms:
            return inner

        self._count += 1
        worker = None
        if node.size >= THREAD_BYTES:
            if self._worker is None:
                self._worker = _Hasher(self._done)
                self._worker.start()
            worker = self._worker

        def read(stream: IO[bytes]) -> Any:
            hashers = [hashlib.new(name) for name in algorithms]
            tee = _Tee(stream, hashers, worker)
            result = inner(tee) if inner is not None else None
            tee.drain()
            if worker is not None:
                worker.finish(node, algorithms, hashers)
            else:
                self._done(node, tuple((name, h.digest()) for name, h in zip(algorithms, hashers, strict=True)))
            return result

        return read

    def observe(self, tree: Any, merged: Any) -> None:
        """Before a layer is merged: its hardlinks share the digests of the inode they name."""
        self.close()  # this layer's digests, all of them
        seen: set[int] = set()
        for names in getattr(tree, "inodes", {}).values():
            if id(names) in seen:
                continue
            seen.add(id(names))
            digests = next((self._nodes[id(n)][1] for n in names
                            if id(n) in self._nodes and self._nodes[id(n)][0] is n), None)
            if digests is None:
                continue
            for name in names:
                if id(name) not in self._nodes:
                    self._nodes[id(name)] = (name, digests)

    def digest(self, node: Node, algorithm: str) -> str | None:
        """The hex digest of exactly this node's bytes, when this scan computed it."""
        self.close()
        found = self._nodes.get(id(node))
        if found is None or found[0] is not node:
            return None
        for name, value in found[1]:
            if name == algorithm:
                return value.hex()
        return None
