"""Package URLs as syft writes them (package-url/purl-spec; syft's ``syft/pkg/cataloger/*/package.go``).

``pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12``: the namespace is the
distribution's ``ID``, qualifiers are sorted, ``distro`` is ``ID-VERSION_ID``; rpm keeps the epoch
out of the version and in an ``epoch`` qualifier, and names its source rpm in ``upstream``.
"""

from __future__ import annotations

from urllib.parse import quote

from .interface import Package
from .os_release import OsRelease

TYPES = {"dpkg": "deb", "apk": "apk", "rpm": "rpm"}
DEFAULT_NAMESPACE = {"dpkg": "debian", "apk": "alpine", "rpm": None}


def _escape(value: str) -> str:
    return quote(value, safe=".-_~")


def purl(package: Package, os: OsRelease | None, upstream: str | None = None) -> str | None:
    kind = TYPES.get(package.manager)
    if kind is None:
        return None
    namespace = (os.id if os and os.id else None) or DEFAULT_NAMESPACE.get(package.manager)
    version = package.version
    qualifiers: dict[str, str] = {}
    if package.arch:
        qualifiers["arch"] = package.arch
    if os is not None and os.distro:
        qualifiers["distro"] = os.distro
    if package.manager == "rpm" and package.epoch is not None:
        version = version.split(":", 1)[1] if ":" in version else version
        qualifiers["epoch"] = str(package.epoch)
    if upstream:
        qualifiers["upstream"] = upstream
    head = f"pkg:{kind}/" + (f"{_escape(namespace)}/" if namespace else "") + _escape(package.name)
    text = f"{head}@{_escape(version)}"
    if qualifiers:
        text += "?" + "&".join(f"{key}={_escape(value)}" for key, value in sorted(qualifiers.items()))
    return text


def upstream(package: Package) -> str | None:
    """syft's ``upstream`` qualifier: the source package when it is not the package itself."""
    if package.manager == "rpm":
        if package.source_name is None:
            return None
        return f"{package.source_name}-{package.source_version}.src.rpm" if package.source_version \
            else package.source_name
    if package.source_name is None or package.source_name == package.name:
        return None
    if package.manager == "dpkg" and package.source_version and package.source_version != package.version:
        return f"{package.source_name}@{package.source_version}"
    return package.source_name
