"""Azure Linux / CBL-Mariner distroless images: ``/var/lib/rpmmanifest/container-manifest-2``.

These images ship no rpmdb, only the output of ``rpm -qa`` with a query format, one package per
line, tab-separated: ``%{NAME} %{VERSION}-%{RELEASE} %{INSTALLTIME} %{BUILDTIME} %{VENDOR} %{EPOCH}
%{SIZE} %{ARCH} %{EPOCHNUM} %{SOURCERPM}`` (syft's ``parse_rpm_manifest.go``, trivy's ``rpmqa.go``). A package
list without files: nothing to own or verify.
"""

from __future__ import annotations

from .interface import MAX_PACKAGES, DbFiles, Package, ReadResult, text
from .rpm_header import split_source_rpm

PATH = "/var/lib/rpmmanifest/container-manifest-2"


def wanted(path: str) -> bool:
    return path == PATH


def read(files: DbFiles) -> ReadResult:
    result = ReadResult()
    data = files.get(PATH)
    if data is None:
        return result
    bad = 0
    for line in text(data).splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 8 or not fields[0] or not fields[1]:
            bad += 1
            continue
        epoch = fields[5] if fields[5].isdigit() else None
        version = f"{epoch}:{fields[1]}" if epoch else fields[1]
        source = fields[9] if len(fields) > 9 else ""
        source_name, source_version = split_source_rpm(source) if source and source != "(none)" else (None, None)
        vendor = fields[4] if fields[4] and fields[4] != "(none)" else None
        result.packages.append(Package("rpm", fields[0], version, fields[7] or None, source_name, source_version,
                                       db=PATH, vendor=vendor, epoch=int(epoch) if epoch else None))
        if len(result.packages) >= MAX_PACKAGES:
            result.warnings.append(f"{PATH}: more than {MAX_PACKAGES:,} packages; the rest were ignored")
            break
    if bad:
        result.warnings.append(f"{PATH}: {bad} lines that are not rpm -qa records were ignored")
    return result
