"""Installed packages: the databases of dpkg, apk and rpm, read from an image's merged view.

``wanted(path)`` says which files the layer scan must capture; ``read_packages(files)`` turns the
captured bytes (keyed by their merged-view path) into packages, the OS, and warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import apk, dpkg, os_release, rpm, rpm_manifest
from .interface import DbFiles, Package, PackageFile, ReadResult
from .os_release import OsRelease
from .purl import purl, upstream

__all__ = ["DbFiles", "OsRelease", "Package", "PackageFile", "PackageSet", "ReadResult", "read_packages", "wanted"]

READERS = (dpkg.read, apk.read, rpm.read)


#: Every path a reader wants starts with one of these: the scan asks ``wanted`` of every regular
#: file of every layer, and one ``startswith`` refuses nearly all of them.
ROOTS = (dpkg.ROOT + "/", *apk.PATHS, *(directory + "/" for directory in rpm.DIRECTORIES),
         rpm_manifest.PATH, *os_release.PATHS)


def wanted(path: str) -> bool:
    """Whether the layer scan should keep this file's bytes (a package database or an os-release)."""
    return path.startswith(ROOTS) and (dpkg.wanted(path) or apk.wanted(path) or rpm.wanted(path)
                                       or os_release.wanted(path))


@dataclass
class PackageSet:
    os: OsRelease | None
    packages: list[Package] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for package in self.packages:
            found[package.manager] = found.get(package.manager, 0) + 1
        return found


def read_packages(files: DbFiles) -> PackageSet:
    """Every reader over the same captured files; purls filled in once the OS is known."""
    found = PackageSet(os_release.detect(files))
    for reader in READERS:
        result = reader(files)
        found.packages.extend(result.packages)
        found.warnings.extend(result.warnings)
    for package in found.packages:
        package.purl = purl(package, found.os, upstream(package))
    found.packages.sort(key=lambda p: (p.manager, p.name, p.arch or "", p.version))
    return found
