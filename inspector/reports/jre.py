"""Java runtimes in the image: where, whose, which version, JRE or JDK, and how we know.

Signals, strongest first: the ``release`` file (``IMPLEMENTOR``, ``JAVA_RUNTIME_VERSION``,
``IMAGE_TYPE``); the vendor string HotSpot compiles into ``libjvm.so`` (jlink-trimmed runtimes ship
a ``release`` without ``IMPLEMENTOR``); the Debian package that owns the home; the directory name.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from ..fs.links import follow
from ..fs.node import DIR, FILE
from .executables import java_marker_files
from .facts import FileFacts
from .interface import Inspection

#: IMPLEMENTOR (or libjvm vendor string) → distribution name
DISTRIBUTIONS = {
    "Eclipse Adoptium": "Temurin", "AdoptOpenJDK": "AdoptOpenJDK", "Amazon.com Inc.": "Corretto",
    "Azul Systems, Inc.": "Zulu", "Microsoft": "Microsoft Build of OpenJDK",
    "Red Hat, Inc.": "Red Hat build of OpenJDK", "BellSoft": "Liberica", "SAP SE": "SapMachine",
    "GraalVM Community": "GraalVM CE", "Oracle Corporation": "Oracle OpenJDK",
    "International Business Machines Corporation": "Semeru", "IBM Corporation": "IBM SDK",
    "JetBrains s.r.o.": "JetBrains Runtime", "Alibaba": "Dragonwell", "Tencent": "Kona",
    "Debian": "Debian OpenJDK", "Ubuntu": "Ubuntu OpenJDK",
}
#: words in a home's path → vendor, the last resort
PATH_HINTS = (
    ("temurin", "Eclipse Adoptium"), ("adoptium", "Eclipse Adoptium"), ("adoptopenjdk", "AdoptOpenJDK"),
    ("corretto", "Amazon.com Inc."), ("zulu", "Azul Systems, Inc."), ("liberica", "BellSoft"),
    ("sapmachine", "SAP SE"), ("graalvm", "GraalVM Community"),
    ("semeru", "International Business Machines Corporation"),
    ("microsoft", "Microsoft"), ("msopenjdk", "Microsoft"), ("dragonwell", "Alibaba"), ("kona", "Tencent"),
)
_GENERIC_VENDORS = {"Oracle Corporation", "N/A", "Private Build"}  # upstream defaults, weaker than a specific one
_DEB_HOME = re.compile(r"^/usr/lib/jvm/java-(\d+)-openjdk-[a-z0-9_]+$")


@dataclass
class JavaRuntime:
    home: str
    vendor: str | None = None
    distribution: str | None = None
    version: str | None = None
    type: str = "JRE"
    tools: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    reached_by: list[str] = field(default_factory=list)  # /usr/bin/java, JAVA_HOME, PATH
    runtime_version: str | None = None  # the full string (JAVA_RUNTIME_VERSION), e.g. 17.0.21+7-Debian-1deb12u1

    @property
    def short_version(self) -> str | None:
        """The version as ``java -version`` prints it (``17.0.21``, ``1.8.0_412``)."""
        return java_version(self.version)

    def to_json(self) -> dict[str, Any]:
        return {"home": self.home, "vendor": self.vendor, "distribution": self.distribution, "version": self.version,
                "type": self.type, "tools": self.tools, "evidence": self.evidence, "reached_by": self.reached_by,
                "runtime_version": self.runtime_version}


_SHORT_VERSION = re.compile(r"\d+(?:[._]\d+)*")


def java_version(version: str | None) -> str | None:
    """``17.0.21+7-Debian-1deb12u1`` → ``17.0.21``, ``25.0.4+7-LTS`` → ``25.0.4``, ``1.8.0_412-b08`` →
    ``1.8.0_412``: the number ``java -version`` shows, without the build and the vendor's suffix.
    A version that does not start with a number is returned as it is."""
    if not version:
        return None
    match = _SHORT_VERSION.match(version)
    return match.group(0) if match else version


def find_runtimes(inspection: Inspection) -> list[JavaRuntime]:
    """One runtime per real home directory (a home reached through several symlinked names is one);
    computed once per inspection (the summary and the policy both ask), each caller gets its own list."""
    return list(inspection.once("java_runtimes", lambda: _find_runtimes(inspection)))


def _find_runtimes(inspection: Inspection) -> list[JavaRuntime]:
    homes = _candidate_homes(inspection)
    runtimes = [_describe(inspection, home) for home in sorted(homes)]
    _mark_reached(inspection, runtimes)
    return runtimes


def _candidate_homes(inspection: Inspection) -> set[str]:
    homes = set()
    for path, node in java_marker_files(inspection):
        if path.endswith("/bin/java") and node.mode & 0o111:
            home = posixpath.dirname(posixpath.dirname(path))
            if home.endswith("/jre") and _has_release_or_javac(inspection, posixpath.dirname(home)):
                home = posixpath.dirname(home)  # Java 8 JDK: the JRE inside is part of the JDK
            homes.add(home or "/")
        elif path.endswith("/release") and isinstance(node.content, FileFacts) and node.content.text \
                and "JAVA_VERSION=" in node.content.text:
            homes.add(posixpath.dirname(path) or "/")
    return homes


def _has_release_or_javac(inspection: Inspection, home: str) -> bool:
    return any(inspection.fs.lookup(f"{home}/{name}") is not None for name in ("release", "bin/javac"))


def parse_release(text: str) -> dict[str, str]:
    """``KEY="value"`` lines; quotes stripped, as the JDK's own tools read them."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            values[key.strip()] = value.strip().strip('"')
    return values


def _describe(inspection: Inspection, home: str) -> JavaRuntime:
    fs = inspection.fs
    runtime = JavaRuntime(home=home)
    release_node = fs.lookup(f"{home}/release")
    release: dict[str, str] = {}
    if release_node is not None and isinstance(release_node.content, FileFacts) and release_node.content.text:
        release = parse_release(release_node.content.text)
        runtime.evidence.append(f"{home}/release")
    _vendor(inspection, runtime, release)
    runtime.version = _version(release, home)
    runtime.runtime_version = release.get("JAVA_RUNTIME_VERSION") or runtime.version
    if runtime.version and "JAVA_RUNTIME_VERSION" not in release and "JAVA_VERSION" not in release:
        runtime.evidence.append(f"version from the directory name {posixpath.basename(home)}")
    runtime.type = _image_type(inspection, runtime, release)
    bin_dir = fs.lookup(f"{home}/bin")
    if bin_dir is not None and bin_dir.kind == DIR:
        runtime.tools = sorted(name for name, node in (bin_dir.children or {}).items()
                               if node.kind == FILE and node.mode & 0o111)
    return runtime


def _vendor(inspection: Inspection, runtime: JavaRuntime, release: dict[str, str]) -> None:
    home = runtime.home
    vendor = release.get("IMPLEMENTOR")
    if vendor:
        runtime.evidence.append(f'IMPLEMENTOR="{vendor}" in release')
    if not vendor or vendor in _GENERIC_VENDORS:
        found = _libjvm_vendor(inspection, home)
        if found and (not vendor or found not in _GENERIC_VENDORS):
            vendor, path = found, _libjvm_path(inspection, home)
            runtime.evidence.append(f'vendor string "{vendor}" in {path}')
    package = _debian_package(inspection, home)
    if package:
        runtime.evidence.append(f"Debian package {package} (/var/lib/dpkg)")
        if not vendor or vendor in _GENERIC_VENDORS:
            vendor = "Ubuntu" if "ubuntu" in _os_release(inspection).lower() else "Debian"
    if not vendor:
        lowered = home.lower()
        for word, hinted in PATH_HINTS:
            if word in lowered:
                vendor = hinted
                runtime.evidence.append(f'"{word}" in the directory name')
                break
    runtime.vendor = vendor
    flavour = release.get("IMPLEMENTOR_VERSION", "")
    if vendor == "Oracle Corporation" and release.get("BUILD_TYPE") == "commercial":
        runtime.distribution = "Oracle JDK"
    elif flavour.startswith("Corretto"):
        runtime.distribution = "Corretto"
    else:
        runtime.distribution = DISTRIBUTIONS.get(vendor or "", vendor)


def _libjvm_path(inspection: Inspection, home: str) -> str | None:
    for relative in ("lib/server/libjvm.so", "lib/client/libjvm.so", "jre/lib/amd64/server/libjvm.so",
                     "jre/lib/aarch64/server/libjvm.so", "lib/amd64/server/libjvm.so"):
        if inspection.fs.lookup(f"{home}/{relative}") is not None:
            return f"{home}/{relative}"
    return None


def _libjvm_vendor(inspection: Inspection, home: str) -> str | None:
    path = _libjvm_path(inspection, home)
    node = inspection.fs.lookup(path) if path else None
    if node is None or not isinstance(node.content, FileFacts) or not node.content.vendors:
        return None
    specific = [v for v in node.content.vendors if v not in _GENERIC_VENDORS]
    return (specific or node.content.vendors)[0]


def _debian_package(inspection: Inspection, home: str) -> str | None:
    """The Debian package that ships this home, from dpkg's status (or distroless's status.d)."""
    match = _DEB_HOME.match(home)
    if not match:
        return None
    major = match.group(1)
    names = [f"openjdk-{major}-jdk-headless", f"openjdk-{major}-jre-headless", f"openjdk-{major}-jdk",
             f"openjdk-{major}-jre"]
    fs = inspection.fs
    for name in names:
        if fs.lookup(f"/var/lib/dpkg/status.d/{name}") is not None or fs.lookup(f"/var/lib/dpkg/info/{name}.list") \
                is not None or fs.lookup(f"/var/lib/dpkg/info/{name}:amd64.list") is not None:
            return name
    return None


def _os_release(inspection: Inspection) -> str:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        node = inspection.fs.lookup(path)
        if node is not None and isinstance(node.content, FileFacts) and node.content.text:
            return node.content.text
    return ""


def _version(release: dict[str, str], home: str) -> str | None:
    java_version = release.get("JAVA_VERSION")
    runtime_version = release.get("JAVA_RUNTIME_VERSION")
    if runtime_version:
        return runtime_version
    full = release.get("FULL_VERSION")
    if full and java_version and full.split(".")[0] == java_version.split(".")[0]:
        return full
    if java_version:
        return java_version
    match = re.search(r"(?:jdk|jre|java|openjdk|temurin)[-_]?(\d+(?:\.\d+)*)", posixpath.basename(home).lower())
    return match.group(1) if match else None


def _image_type(inspection: Inspection, runtime: JavaRuntime, release: dict[str, str]) -> str:
    declared = release.get("IMAGE_TYPE", "").upper()
    if declared in ("JRE", "JDK"):
        runtime.evidence.append(f'IMAGE_TYPE="{declared}" in release')
        return declared
    for marker in ("bin/javac", "jmods"):
        if inspection.fs.lookup(f"{runtime.home}/{marker}") is not None:
            runtime.evidence.append(f"{runtime.home}/{marker} exists")
            return "JDK"
    runtime.evidence.append(f"no {runtime.home}/bin/javac")
    return "JRE"


def _mark_reached(inspection: Inspection, runtimes: list[JavaRuntime]) -> None:
    """Which runtime `/usr/bin/java`, `java` on the image's PATH and JAVA_HOME lead to."""
    by_home = {r.home: r for r in runtimes}
    env = inspection.env

    def home_of(path: str) -> JavaRuntime | None:
        resolution = follow(inspection.fs, path)
        if resolution.path is None:
            return None
        for home, runtime in by_home.items():
            if resolution.path.startswith(home.rstrip("/") + "/"):
                return runtime
        return None

    runtime = home_of("/usr/bin/java")
    if runtime:
        runtime.reached_by.append("/usr/bin/java")
    for directory in env.get("PATH", "").split(":"):
        if directory and inspection.fs.lookup(posixpath.join(directory, "java")) is not None:
            runtime = home_of(posixpath.join(directory, "java"))
            if runtime and "PATH" not in runtime.reached_by:
                runtime.reached_by.append("PATH")
            break
    java_home = env.get("JAVA_HOME")
    if java_home:
        resolution = follow(inspection.fs, java_home)
        target = resolution.path or java_home
        runtime = by_home.get(target) or home_of(f"{java_home}/bin/java")
        if runtime:
            runtime.reached_by.append("JAVA_HOME")
