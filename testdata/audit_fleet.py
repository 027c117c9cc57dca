"""Small fleets for the audit tests: images on two shared bases, written as separate archives.

A fleet is mostly shared bases, which is what ``inspect-image audit`` exploits: every image here is
one of two base layers plus one layer of its own. Base ``shell`` has a shell and runs as root (the
``shell`` and ``root-user`` rules find something); base ``quiet`` has neither.
"""

from __future__ import annotations

from pathlib import Path

from testdata.imagebuilder import E, ImageSpec, write_docker_archive, write_oci_layout

#: An ELF header is enough for the probes to call a file an executable.
_ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x02\x00\x3e\x00" + b"\0" * 44


def base_layer(kind: str, files: int = 20) -> list[E]:
    entries = [E("bin/", "dir"), E("etc/", "dir"), E("usr/", "dir"), E("usr/lib/", "dir")]
    entries += [E(f"usr/lib/lib{kind}{i}.so", data=_ELF + f"{kind}{i}".encode(), mode=0o755) for i in range(files)]
    if kind == "shell":
        entries += [E("bin/sh", data=_ELF + b"sh", mode=0o755), E("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n")]
    else:
        entries += [E("etc/passwd", data=b"root:x:0:0::/root:/sbin/nologin\napp:x:1000:1000::/:/sbin/nologin\n")]
    return entries


def app_spec(number: int, kind: str, files: int = 20) -> ImageSpec:
    app = [E("app/", "dir"), E(f"app/run{number}", data=_ELF + f"app{number}".encode(), mode=0o755)]
    app += [E(f"app/data{i}.txt", data=f"{number}-{i}\n".encode()) for i in range(files)]
    config: dict[str, object] = {"Entrypoint": [f"/app/run{number}"]}
    if kind == "quiet":
        config["User"] = "1000"
    return ImageSpec([base_layer(kind), app], config=config, tags=[f"app{number}:1"])


def write_fleet(directory: Path, count: int, layout: str = "docker25") -> list[str]:
    """``count`` images alternating between the two bases; one archive (or layout) each."""
    directory.mkdir(parents=True, exist_ok=True)
    references = []
    for number in range(count):
        spec = app_spec(number, "shell" if number % 2 == 0 else "quiet")
        if layout.startswith("oci"):
            path = directory / f"app{number}"
            write_oci_layout(path, spec, compression="gzip")
            references.append(f"oci:{path}")
        else:
            path = directory / f"app{number}.tar"
            write_docker_archive(path, spec, layout)
            references.append(str(path))
    return references
