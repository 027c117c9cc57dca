"""``inspect-image sbom`` as a user meets it: the CLI in a subprocess, the document parsed.

Round trip: the packages of both documents are exactly what ``--packages`` lists, for dpkg,
distroless ``status.d``, apk and rpm images. What only we say: the JRE named Temurin (from the
vendor string in ``libjvm.so``, the ``release`` file being jlink-trimmed), the unowned executables
and the modified packaged files, each with its layer and build step.
"""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testdata import packages_fixtures as fx
from testdata.imagebuilder import E, ImageSpec
from tests.conftest import cli_env, run_cli, write_image

TAG = "registry.example.com/team/app:1.0"
DOC = b"coreutils copyright text\n"
ALPINE_RELEASE = b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n'
FEDORA_RELEASE = b'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\nPRETTY_NAME="Fedora Linux 40"\n'
JAVA = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"java launcher " * 20
LIBJVM = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"hotspot" * 100 + b"\0Eclipse Adoptium\0" + b"more" * 100
#: A jlink-trimmed Temurin: no IMPLEMENTOR, so the vendor string in libjvm.so names it.
RELEASE = b'JAVA_VERSION="21.0.5"\nJAVA_RUNTIME_VERSION="21.0.5+11-LTS"\nIMAGE_TYPE="JRE"\n'
HISTORY = [{"created_by": "debootstrap bookworm"}, {"created_by": "ENV LANG=C.UTF-8", "empty_layer": True},
           {"created_by": "COPY app/ / # tampering"}, {"created_by": "COPY --from=temurin /opt/java /opt/java"}]


def debian_layer() -> list[E]:
    """The packages fixture's merged-/usr Debian base, plus a packaged non-executable file (a doc)."""
    layer = fx.debian_base_layer()
    for item in layer:
        if item.path == "var/lib/dpkg/info/coreutils.md5sums":
            item.data += f"{fx.md5(DOC)}  usr/share/doc/coreutils/copyright\n".encode()
    return layer + [E("usr/share/", "dir"), E("usr/share/doc/", "dir"), E("usr/share/doc/coreutils/", "dir"),
                    E("usr/share/doc/coreutils/copyright", data=DOC)]


def tampering_layer() -> list[E]:
    return fx.tampering_layer() + [E("usr/share/", "dir"), E("usr/share/doc/", "dir"),
                                   E("usr/share/doc/coreutils/", "dir"),
                                   E("usr/share/doc/coreutils/copyright", data=b"edited by hand\n")]


def jre_layer() -> list[E]:
    home = "opt/java/openjdk"
    return [E("opt/", "dir"), E("opt/java/", "dir"), E(f"{home}/", "dir"), E(f"{home}/bin/", "dir"),
            E(f"{home}/bin/java", data=JAVA, mode=0o755), E(f"{home}/release", data=RELEASE),
            E(f"{home}/lib/", "dir"), E(f"{home}/lib/server/", "dir"),
            E(f"{home}/lib/server/libjvm.so", data=LIBJVM, mode=0o644)]


def dpkg_spec() -> ImageSpec:
    return ImageSpec([debian_layer(), tampering_layer(), jre_layer()], history=HISTORY, tags=[TAG],
                     config={"Env": ["PATH=/opt/java/openjdk/bin:/usr/bin", "JAVA_HOME=/opt/java/openjdk"]})


def distroless_spec() -> ImageSpec:
    files = {**fx.distroless_files(), "/etc/os-release": fx.OS_RELEASE}
    return ImageSpec([fx.entries(files) + fx.entries({"/lib/x86_64-linux-gnu/libc.so.6": fx.LIBC}, mode=0o755)])


def apk_spec() -> ImageSpec:
    layer = fx.entries({"/lib/apk/db/installed": fx.apk_installed(), "/etc/os-release": ALPINE_RELEASE,
                        "/etc/securetty": fx.SECURETTY})
    layer += [E("lib/ld-musl-x86_64.so.1", data=b"musl loader", mode=0o755),
              E("lib/libc.musl-x86_64.so.1", "symlink", target="ld-musl-x86_64.so.1"),
              E("bin/", "dir"), E("bin/busybox", data=fx.BUSYBOX, mode=0o755)]
    return ImageSpec([layer])


def rpm_spec(work: Path) -> ImageSpec:
    db = fx.rpm_sqlite_db(work, fx.build_rpms(work))
    layer = fx.entries({"/var/lib/rpm/rpmdb.sqlite": (db / "rpmdb.sqlite").read_bytes(),
                        "/etc/os-release": FEDORA_RELEASE, "/etc/hello.conf": b"conf\n"})
    layer += [E("usr/", "dir"), E("usr/bin/", "dir"), E("usr/bin/hello", data=fx.HELLO_BYTES, mode=0o4755)]
    return ImageSpec([layer])


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return build_images(tmp_path_factory.mktemp("sbom-images"))


def build_images(directory: Path) -> dict[str, str]:
    """One image per package manager (rpm when Debian's rpm is installed), written once."""
    found = {"dpkg": write_image(directory, dpkg_spec(), "docker25", "dpkg"),
             "distroless": write_image(directory, distroless_spec(), "legacy", "distroless"),
             "apk": write_image(directory, apk_spec(), "docker25", "apk")}
    if fx.have_rpm() is None:
        found["rpm"] = write_image(directory, rpm_spec(directory / "rpm-work"), "legacy", "rpm")
    return found


def sbom(ref: str, *extra: str, **kwargs: Any) -> dict[str, Any]:
    """``inspect-image sbom REF EXTRA``, parsed strictly (no NaN, valid UTF-8); exit 0 asserted."""
    code, out, err = run_cli("sbom", ref, *extra, **kwargs)
    assert code == 0, err
    assert "Traceback" not in err and "internal error" not in err
    return strict_json(out)


def strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"not JSON: {name}")

    text.encode("utf-8", "strict")
    return json.loads(text, parse_constant=refuse)


def packages_view(ref: str) -> list[dict[str, Any]]:
    code, out, err = run_cli(ref, "--packages", "--format", "json")
    assert code == 0, err
    return json.loads(out)["packages"]


def props(component: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in component.get("properties", []):
        found.setdefault(item["name"], []).append(item["value"])
    return found


def components(bom: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [c for c in bom["components"] if c["type"] == kind]


MANAGERS = ["dpkg", "distroless", "apk", "rpm"]


@pytest.mark.parametrize("manager", MANAGERS)
def test_package_set_equals_packages_view(images: dict[str, str], manager: str) -> None:
    if manager not in images:
        pytest.skip(f"rpm fixtures cannot be made here: {fx.have_rpm()}")
    ref = images[manager]
    expected = {(p["name"], p["version"], p["purl"]) for p in packages_view(ref)}
    assert expected
    cdx = sbom(ref)
    assert {(c["name"], c["version"], c.get("purl")) for c in components(cdx, "library")} == expected
    spdx = sbom(ref, "--format", "spdx-json")
    libraries = [p for p in spdx["packages"] if p["primaryPackagePurpose"] == "LIBRARY"]
    assert {(p["name"], p["versionInfo"], p["externalRefs"][0]["referenceLocator"]) for p in libraries} == expected


def test_cyclonedx_names_the_image_os_tool_and_temurin(images: dict[str, str]) -> None:
    ref = images["dpkg"]
    cdx = sbom(ref)
    summary = json.loads(run_cli(ref, "--format", "json")[1])["image"]
    assert (cdx["bomFormat"], cdx["specVersion"], cdx["version"]) == ("CycloneDX", "1.6", 1)
    assert cdx["metadata"]["tools"]["components"] == [{"type": "application", "name": "inspect-image",
                                                       "version": "0.1.0"}]
    image = cdx["metadata"]["component"]
    assert (image["type"], image["name"], image["version"]) == ("container", ref, summary["id"])
    digest = summary["manifest_digest"]
    assert image["purl"] == (f"pkg:oci/app@sha256%3A{digest.split(':')[1]}?arch=amd64"
                             "&repository_url=registry.example.com%2Fteam%2Fapp")
    [system] = components(cdx, "operating-system")
    assert (system["name"], system["version"]) == ("debian", "12")
    [jre] = components(cdx, "application")
    assert (jre["name"], jre["version"], jre["publisher"]) == ("Temurin", "21.0.5+11-LTS", "Eclipse Adoptium")
    assert jre["purl"] == "pkg:generic/Eclipse%20Adoptium/Temurin@21.0.5%2B11-LTS"
    assert props(jre)["inspect-image:java:home"] == ["/opt/java/openjdk"]
    libc = next(c for c in components(cdx, "library") if c["name"] == "libc6")
    assert props(libc)["aquasecurity:trivy:SrcName"] == ["glibc"]
    assert props(libc)["aquasecurity:trivy:SrcVersion"] == ["2.36-9+deb12u10"]
    assert props(libc)["inspect-image:package:db"] == ["/var/lib/dpkg/status"]
    image_deps = next(d for d in cdx["dependencies"] if d["ref"] == "image")["dependsOn"]
    assert set(image_deps) >= {"os", libc["bom-ref"], jre["bom-ref"]}


def test_unowned_and_modified_files_always_appear(images: dict[str, str]) -> None:
    cdx = sbom(images["dpkg"])
    files = {c["name"]: c for c in components(cdx, "file")}
    # without --files: only what no package owns and what differs from its package's record
    assert set(files) == {"/usr/local/bin/dropped", "/opt/java/openjdk/bin/java", "/usr/bin/ls",
                          "/usr/share/doc/coreutils/copyright"}
    dropped = props(files["/usr/local/bin/dropped"])
    assert dropped["inspect-image:unowned"] == ["true"]
    assert dropped["inspect-image:layer"] == ["1"]
    assert dropped["inspect-image:layer:created_by"] == ["COPY app/ / # tampering"]
    assert files["/usr/local/bin/dropped"]["hashes"] == [{"alg": "SHA-256",
                                                          "content": hashlib.sha256(fx.DROPPED).hexdigest()}]
    ls = props(files["/usr/bin/ls"])
    assert (ls["inspect-image:modified"], ls["inspect-image:package"]) == (["true"], ["dpkg/coreutils"])
    assert ls["inspect-image:modified:expected"] == [fx.md5(fx.LS)]
    doc = files["/usr/share/doc/coreutils/copyright"]
    assert {"alg": "MD5", "content": fx.md5(b"edited by hand\n")} in doc["hashes"]
    deps = {d["ref"]: d["dependsOn"] for d in cdx["dependencies"]}
    coreutils = next(c for c in components(cdx, "library") if c["name"] == "coreutils")["bom-ref"]
    assert set(deps[coreutils]) == {"file:/usr/bin/ls", "file:/usr/share/doc/coreutils/copyright"}
    jre = components(cdx, "application")[0]["bom-ref"]
    assert deps[jre] == ["file:/opt/java/openjdk/bin/java"]  # the unowned java belongs to Temurin
    assert "file:/usr/local/bin/dropped" in deps["image"]


def test_files_lists_every_executable_with_its_owner(images: dict[str, str]) -> None:
    cdx = sbom(images["dpkg"], "--files")
    files = {c["name"]: c for c in components(cdx, "file")}
    libc = files["/usr/lib/x86_64-linux-gnu/libc.so.6"]
    assert libc["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(fx.LIBC).hexdigest()}]
    assert props(libc)["inspect-image:package"] == ["dpkg/libc6"]
    assert "inspect-image:unowned" not in props(libc) and "inspect-image:modified" not in props(libc)
    assert props(libc)["inspect-image:layer:created_by"] == ["debootstrap bookworm"]
    deps = {d["ref"]: d["dependsOn"] for d in cdx["dependencies"]}
    owner = next(c for c in components(cdx, "library") if c["name"] == "libc6")["bom-ref"]
    assert deps[owner] == ["file:/usr/lib/x86_64-linux-gnu/libc.so.6"]


def test_spdx_files_carry_sha1_and_sha256(images: dict[str, str]) -> None:
    doc = sbom(images["dpkg"], "--format", "spdx-json", "--files")
    assert (doc["spdxVersion"], doc["dataLicense"], doc["SPDXID"]) == ("SPDX-2.3", "CC0-1.0", "SPDXRef-DOCUMENT")
    files = {f["fileName"]: f for f in doc["files"]}
    expected = {"./usr/lib/x86_64-linux-gnu/libc.so.6": fx.LIBC, "./usr/local/bin/dropped": fx.DROPPED,
                "./usr/share/doc/coreutils/copyright": b"edited by hand\n", "./opt/java/openjdk/bin/java": JAVA}
    for name, data in expected.items():
        sums = {c["algorithm"]: c["checksumValue"] for c in files[name]["checksums"]}
        assert sums["SHA1"] == hashlib.sha1(data).hexdigest(), name
        assert sums["SHA256"] == hashlib.sha256(data).hexdigest(), name
    ids = {p["SPDXID"]: p for p in doc["packages"]}
    relations = {(r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]) for r in doc["relationships"]}
    assert ("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image") in relations
    libc = next(p for p in doc["packages"] if p["name"] == "libc6")
    assert (libc["SPDXID"], "CONTAINS", files["./usr/lib/x86_64-linux-gnu/libc.so.6"]["SPDXID"]) in relations
    containers = {a for a, kind, _ in relations if kind == "CONTAINS"}
    for spdx_id, package in ids.items():
        has_files = any(a == spdx_id and b.startswith("SPDXRef-File-") for a, _, b in relations)
        assert package["filesAnalyzed"] is has_files, spdx_id
    assert "SPDXRef-Image" in containers
    [jre] = [p for p in doc["packages"] if p["primaryPackagePurpose"] == "APPLICATION"]
    assert jre["name"] == "Temurin"
    assert "inspect-image:unowned" in files["./usr/local/bin/dropped"]["comment"]
    assert "inspect-image:modified" in files["./usr/share/doc/coreutils/copyright"]["comment"]


def test_deterministic_but_for_time_and_serial(images: dict[str, str]) -> None:
    ref = images["apk"]
    fixed = {"SOURCE_DATE_EPOCH": "1700000000"}
    for fmt in ("cyclonedx-json", "spdx-json"):
        first = _raw(ref, "--format", fmt, "--files", env=fixed)
        assert first == _raw(ref, "--format", fmt, "--files", env=fixed)
        assert "2023-11-14T22:13:20Z" in first
        later = _raw(ref, "--format", fmt, "--files", env={"SOURCE_DATE_EPOCH": "1700000001"})
        assert later != first
        def strip(d: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in d.items()
                    if k not in ("serialNumber", "metadata", "documentNamespace", "creationInfo")}

        assert strip(json.loads(later)) == strip(json.loads(first))
    other = _raw(images["distroless"], env=fixed)
    assert json.loads(other)["serialNumber"] != json.loads(_raw(ref, env=fixed))["serialNumber"]


def _raw(ref: str, *extra: str, env: dict[str, str]) -> str:
    proc = subprocess.run([sys.executable, "-m", "inspector", "sbom", ref, *extra], check=False,
                          capture_output=True,
                          env={**cli_env(), **env}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode()


def test_output_file(images: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "bom.json"
    code, out, err = run_cli("sbom", images["apk"], "-o", str(target))
    assert (code, out, err) == (0, "", "")
    assert json.loads(target.read_text())["bomFormat"] == "CycloneDX"
    assert sbom(images["apk"], "-o", "-")["bomFormat"] == "CycloneDX"  # - is stdout
    code, out, err = run_cli("sbom", images["apk"], "-o", str(tmp_path / "no" / "such" / "dir.json"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("inspect-image: error: cannot write ")


def test_stdin_still_gives_a_document_and_says_integrity_is_unavailable(images: dict[str, str]) -> None:
    data = Path(images["distroless"]).read_bytes()
    code, out, err = run_cli("sbom", "-", "--no-cache", input=data)
    assert code == 0, err
    assert "modified packaged files are not listed" in err
    bom = strict_json(out)
    assert {c["name"] for c in components(bom, "library")} == {"base-files", "libc6"}


HOSTILE_NAME = "usr/local/bin/evil\x1b]52;c;aGk=\x07\u202e\nname\udcff"


def hostile_spec() -> ImageSpec:
    layer = fx.entries({"/etc/os-release": b'ID="deb\x1b[31mian"\nVERSION_ID="1\\"2"\n',
                        "/var/lib/dpkg/status.d/pkg": b"Package: p\x1bkg\nVersion: 1\xff\"<\nArchitecture: amd64\n"
                                                      b"Source: s\xe2\x80\xae\n"})
    layer += [E("usr/", "dir"), E("usr/local/", "dir"), E("usr/local/bin/", "dir"),
              E(HOSTILE_NAME.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape"),
                data=b"#!/bin/sh\n", mode=0o755)]
    return ImageSpec([layer], tags=['evil\x1b"/x:1'])


MEMORY = 1 << 30


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def test_hostile_names_stay_json_values(tmp_path: Path) -> None:
    ref = write_image(tmp_path, hostile_spec(), "legacy", "hostile")
    for fmt in ("cyclonedx-json", "spdx-json"):
        proc = subprocess.run([sys.executable, "-m", "inspector", "sbom", ref, "--format", fmt, "--files"],
                              check=False, capture_output=True, env=cli_env(), timeout=60, preexec_fn=_limit)
        err = proc.stderr.decode()
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "internal error" not in err
        text = proc.stdout.decode("utf-8", "strict")
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
        doc = strict_json(text)
        names = json.dumps(doc)
        assert "evil\\u001b]52;c;aGk=\\u0007\\u202e\\nname\\\\xff" in names  # every character kept, escaped


def test_a_packaged_file_replaced_by_a_directory(tmp_path: Path) -> None:
    """Modified, with its new type: listed in CycloneDX (no bytes to hash), left out of SPDX (which
    requires a SHA-1 of every file) with one warning naming it."""
    replace = [E("usr/", "dir"), E("usr/lib/", "dir"), E("usr/lib/x86_64-linux-gnu/", "dir"),
               E("usr/lib/x86_64-linux-gnu/.wh.libc.so.6"), E("usr/lib/x86_64-linux-gnu/libc.so.6/", "dir")]
    ref = write_image(tmp_path, ImageSpec([fx.debian_base_layer(), replace]), "legacy", "replaced")
    cdx = sbom(ref)
    libc = next(c for c in components(cdx, "file") if c["name"] == "/usr/lib/x86_64-linux-gnu/libc.so.6")
    assert props(libc)["inspect-image:modified:type"] == ["dir"] and "hashes" not in libc
    assert props(libc)["inspect-image:layer"] == ["1"]
    code, out, err = run_cli("sbom", ref, "--format", "spdx-json")
    assert code == 0
    assert err == ("inspect-image: warning: 1 modified files have no SHA-1 and are not listed in the SPDX "
                   "document (first: /usr/lib/x86_64-linux-gnu/libc.so.6)\n")
    assert "./usr/lib/x86_64-linux-gnu/libc.so.6" not in {f["fileName"] for f in strict_json(out).get("files", [])}
