"""Debian's dpkg database: ``/var/lib/dpkg/status`` and ``info/``, or distroless ``status.d/``.

Formats (dpkg's ``deb-control(5)``, ``dpkg-query(1)``; distroless ``PACKAGE_METADATA.md``):
stanzas of ``Field: value`` lines separated by blank lines, a line starting with a space or tab
continuing the previous field. ``status`` keeps every package dpkg ever knew, so stanzas whose
``Status`` says the files are gone (``config-files``, ``not-installed``) are skipped; distroless
writes one ``dpkg-deb --field`` stanza per package into ``status.d/<pkg>``, which has no
``Status`` line at all (installed) and, beside it, the ``.deb``'s control ``md5sums``.
Per package, ``info/<pkg>[:<arch>].list`` names every path (directories too), ``.md5sums`` the
regular files with their MD5 (relative paths), ``.conffiles`` the configuration files, whose
MD5s are in the ``Conffiles`` field of ``status`` instead.
"""

from __future__ import annotations

import re

from .interface import (
    MAX_FIELD,
    MAX_FILES_PER_PACKAGE,
    MAX_PACKAGES,
    DbFiles,
    Package,
    PackageFile,
    ReadResult,
    clean_path,
    text,
)

ROOT = "/var/lib/dpkg"
STATUS = f"{ROOT}/status"
STATUS_D = f"{ROOT}/status.d"
INFO = f"{ROOT}/info"
#: ``Status`` states (its third word) in which a package's files are not on disk.
GONE_STATES = frozenset({"not-installed", "config-files"})
_MD5 = re.compile(r"[0-9a-fA-F]{32}")
_SOURCE = re.compile(r"^(\S+)(?:\s+\((\S+)\))?\s*$")


def wanted(path: str) -> bool:
    """Whether a file at ``path`` belongs to a dpkg database (captured during the scan)."""
    if path == STATUS:
        return True
    directory, _, name = path.rpartition("/")
    if directory == STATUS_D:
        return True
    return directory == INFO and name.endswith((".list", ".md5sums", ".conffiles"))


def parse_stanzas(data: str, limit: int = MAX_PACKAGES) -> list[dict[str, str]]:
    """RFC-822-like stanzas; field names are case-insensitive (kept as dpkg spells them, lowered)."""
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last: str | None = None
    for line in data.splitlines():
        if not line.strip():
            if current:
                stanzas.append(current)
                if len(stanzas) >= limit:
                    return stanzas
            current, last = {}, None
        elif line[0] in " \t":
            if last is not None and len(current[last]) < MAX_FIELD:
                current[last] += "\n" + line[1:]
        else:
            key, sep, value = line.partition(":")
            if not sep or not key or " " in key:
                last = None  # not a field (syft skips such lines too)
                continue
            last = key.strip().lower()
            current[last] = value.strip()[:MAX_FIELD]
    if current:
        stanzas.append(current)
    return stanzas[:limit]


def installed(stanza: dict[str, str]) -> bool:
    """No ``Status`` (distroless) means installed; otherwise its state word decides."""
    status = stanza.get("status")
    if status is None:
        return True
    words = status.split()
    return len(words) == 3 and words[2] not in GONE_STATES


def read(files: DbFiles) -> ReadResult:
    """Every installed package of the ``status`` database and of ``status.d`` (both, if both exist)."""
    result = ReadResult()
    seen: set[tuple[str, str | None]] = set()
    if STATUS in files:
        for stanza in parse_stanzas(text(files[STATUS])):
            package = _package(stanza, STATUS, result)
            if package is None or not installed(stanza):
                continue
            _attach_info(package, stanza, files, result)
            seen.add((package.name, package.arch))
            result.packages.append(package)
    prefix = STATUS_D + "/"
    for path in sorted(p for p in files if p.startswith(prefix) and not p.endswith(".md5sums")):
        if len(result.packages) >= MAX_PACKAGES:
            result.warnings.append(f"{STATUS_D}: more than {MAX_PACKAGES:,} packages; the rest were ignored")
            break
        for stanza in parse_stanzas(text(files[path]), limit=16):
            package = _package(stanza, path, result)
            if package is None or not installed(stanza) or (package.name, package.arch) in seen:
                continue
            sums = files.get(path + ".md5sums")
            if sums is not None:
                package.files = _md5sums(sums, path + ".md5sums", result)
            seen.add((package.name, package.arch))
            result.packages.append(package)
    return result


def _package(stanza: dict[str, str], db: str, result: ReadResult) -> Package | None:
    name, version = stanza.get("package"), stanza.get("version")
    if not name or version is None:
        if stanza:
            result.warnings.append(f"{db}: a stanza without Package or Version was skipped")
        return None
    source_name, source_version = name, version
    source = stanza.get("source")
    if source:
        match = _SOURCE.match(source)
        if match:
            source_name, source_version = match.group(1), match.group(2) or version
    return Package("dpkg", name, version, stanza.get("architecture") or None, source_name, source_version,
                   db=db)


def _attach_info(package: Package, stanza: dict[str, str], files: DbFiles, result: ReadResult) -> None:
    """Files from ``info/``: ``.list`` for ownership, ``.md5sums`` and ``Conffiles`` for digests."""
    stems = [f"{package.name}:{package.arch}", package.name] if package.arch else [package.name]
    by_path: dict[str, PackageFile] = {}

    def info(suffix: str) -> tuple[str, bytes] | None:
        for stem in stems:
            path = f"{INFO}/{stem}.{suffix}"
            if path in files:
                return path, files[path]
        return None

    found = info("list")
    if found is not None:
        for line in text(found[1]).splitlines()[:MAX_FILES_PER_PACKAGE]:
            path = line.strip()
            if path.startswith("/") and path != "/.":
                path = clean_path(path)
                by_path.setdefault(path, PackageFile(path))
    found = info("md5sums")
    if found is not None:
        for entry in _md5sums(found[1], found[0], result):
            by_path[entry.path] = entry
    conffiles = stanza.get("conffiles", "")
    for line in conffiles.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("/"):
            path = clean_path(parts[0])
            digest = parts[1].lower() if _MD5.fullmatch(parts[1]) and "obsolete" not in parts[2:] else None
            by_path[path] = PackageFile(path, digest, "md5" if digest else None, conffile=True)
    found = info("conffiles")
    if found is not None:
        for line in text(found[1]).splitlines()[:MAX_FILES_PER_PACKAGE]:
            path = line.strip()
            if path.startswith("/"):
                path = clean_path(path)
                by_path.setdefault(path, PackageFile(path)).conffile = True
    package.files = list(by_path.values())


def _md5sums(data: bytes, db: str, result: ReadResult) -> list[PackageFile]:
    """``<md5>  <relative path>`` lines; anything else is counted and reported once."""
    entries: list[PackageFile] = []
    bad = 0
    for line in text(data).splitlines():
        if not line.strip():
            continue
        digest, _, path = line.partition(" ")
        path = path.strip()
        if not _MD5.fullmatch(digest) or not path:
            bad += 1
            continue
        if len(entries) >= MAX_FILES_PER_PACKAGE:
            result.warnings.append(f"{db}: more than {MAX_FILES_PER_PACKAGE:,} files; the rest were ignored")
            break
        entries.append(PackageFile(clean_path(path), digest.lower(), "md5"))
    if bad:
        result.warnings.append(f"{db}: {bad} lines that are not '<md5>  <path>' were ignored")
    return entries
