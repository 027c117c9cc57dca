"""--packages, ownership and integrity as a user sees them: the CLI in a subprocess, JSON parsed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from testdata import packages_fixtures as fx
from testdata.imagebuilder import ImageSpec
from tests.conftest import run_cli


def packages_json(ref: str, *extra: str, **kwargs) -> dict:
    code, out, err = run_cli(ref, "--packages", "--format", "json", *extra, **kwargs)
    assert code == 0, err
    assert "Traceback" not in err and "internal error" not in err
    return json.loads(out)


@pytest.fixture
def tampered(image_writer) -> str:
    return image_writer(ImageSpec([fx.debian_base_layer(), fx.tampering_layer()], history=fx.APP_HISTORY), "oci-gzip")


def test_tampering_is_reported_once_each_with_layer_and_step(tampered: str) -> None:
    report = packages_json(tampered)
    integrity = report["integrity"]
    assert integrity["available"] is True
    assert [(m["path"], m["resolved_path"], m["package"], m["layer"], m["layer_created_by"])
            for m in integrity["modified"]] == \
        [("/bin/ls", "/usr/bin/ls", "dpkg/coreutils", 1, "COPY app/ / # tampering")]
    assert integrity["modified"][0]["expected"] == fx.md5(fx.LS) != integrity["modified"][0]["actual"]
    assert integrity["missing"] == [{"path": "/bin/cat", "package": "dpkg/coreutils"}]
    assert integrity["config_changed"] == [{"path": "/etc/nsswitch.conf", "package": "dpkg/libc6"}]
    assert (integrity["checked"], integrity["ok"]) == (3, 1)  # ls, libc.so.6, nsswitch.conf; cat is missing
    assert report["unowned_executables"] == [
        {"path": "/usr/local/bin/dropped", "layer": 1, "layer_created_by": "COPY app/ / # tampering"}]
    assert report["os"]["id"] == "debian"
    libc = next(p for p in report["packages"] if p["name"] == "libc6")
    assert libc["purl"] == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12&upstream=glibc"


def test_table_ends_with_modified_files_and_a_count(tampered: str) -> None:
    code, out, err = run_cli(tampered, "--packages")
    assert code == 0, err
    assert "MODIFIED  /bin/ls  (dpkg/coreutils; layer 1: COPY app/ / # tampering)" in out
    assert out.rstrip().splitlines()[-1] == \
        "Integrity: 3 files checked, 1 ok, 1 modified, 1 missing, 1 conffiles changed"


def test_genuine_image_reports_nothing_modified(image_writer) -> None:
    ref = image_writer(ImageSpec([fx.debian_base_layer()]), "legacy")
    integrity = packages_json(ref)["integrity"]
    assert (integrity["modified"], integrity["missing"], integrity["config_changed"]) == ([], [], [])
    assert integrity["checked"] == integrity["ok"] == 4


def test_repeat_reads_no_layer(tampered: str, tmp_path: Path) -> None:
    first = packages_json(tampered)
    for blob in (Path(tampered) / "blobs" / "sha256").iterdir():
        size = blob.stat().st_size
        if size > 1000:  # the layers (the config and manifest are small): same size, other bytes
            os.chmod(blob, 0o644)
            blob.write_bytes(b"\0" * size)
    assert packages_json(tampered) == first


def test_stdin_checks_integrity_in_its_one_pass(image_writer) -> None:
    """The recorded files are hashed as the layers stream past: a pipe gives the same answer as a file."""
    ref = image_writer(ImageSpec([fx.debian_base_layer(), fx.tampering_layer()]), "legacy")
    report = packages_json("-", "--no-cache", input=Path(ref).read_bytes())
    assert report == packages_json(ref, "--no-cache")
    assert report["integrity"]["available"] is True and len(report["integrity"]["modified"]) == 1


def test_stdin_reports_integrity_unavailable_when_a_second_read_is_needed(image_writer) -> None:
    """A packaged file that is a hardlink to a lower layer's file is hashed only by a second read."""
    link = [fx.E("usr/", "dir"), fx.E("usr/bin/", "dir"), fx.E("usr/bin/cat", "hardlink", target="usr/bin/ls")]
    ref = image_writer(ImageSpec([fx.debian_base_layer(), link]), "legacy")
    report = packages_json("-", "--no-cache", input=Path(ref).read_bytes())
    assert report["integrity"]["available"] is False and "second read" in report["integrity"]["note"]
    assert {p["name"] for p in report["packages"]} == {"base-files", "coreutils", "libc6"}


def test_files_json_is_the_same_whichever_cache_entry_serves_it(tampered: str, tmp_path, monkeypatch) -> None:
    """``--files --format json`` reads only package databases and small text files (its own cache
    variant); its answer is the same cold, from its own entries, from the summary's richer entries,
    and with ``--no-cache``, and its entries never answer for the summary's executables."""
    def files_json(*extra: str) -> str:
        code, out, err = run_cli(tampered, "--files", "--format", "json", *extra)
        assert code == 0 and err == "", err
        return out

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "listing-first"))
    cold = files_json()
    assert files_json() == cold  # from the listing's own entries
    assert json.loads(cold)[0]["path"] == "/bin" and {e["package"] for e in json.loads(cold)} >= {"dpkg/coreutils"}
    executables = run_cli(tampered, "--executables", "--format", "json")  # the listing's entries lack facts
    assert executables == run_cli(tampered, "--executables", "--format", "json", "--no-cache")
    ls = next(e for e in json.loads(executables[1]) if e["path"] == "/usr/bin/ls")
    assert (ls["kind"], ls["package"]) == ("elf", "dpkg/coreutils")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "summary-first"))
    assert run_cli(tampered, "--format", "json")[0] == 0
    assert files_json() == cold  # from the summary's entries
    assert files_json("--no-cache") == cold


def test_summary_files_and_executables_gain_ownership(tampered: str) -> None:
    code, out, err = run_cli(tampered, "--format", "json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["packages"] == {"dpkg": 3}
    assert summary["os"]["version_id"] == "12"
    assert [u["path"] for u in summary["unowned_executables"]] == ["/usr/local/bin/dropped"]
    files = {e["path"]: e for e in json.loads(run_cli(tampered, "--files", "--format", "json")[1])}
    assert files["/usr/lib/x86_64-linux-gnu/libc.so.6"]["package"] == "dpkg/libc6"  # through /lib -> usr/lib
    assert files["/usr/bin/ls"]["package"] == "dpkg/coreutils"
    assert files["/usr/bin/ls"]["layer_created_by"] == "COPY app/ / # tampering"
    assert files["/usr/local/bin/dropped"]["package"] is None
    assert files["/var/lib/dpkg/status"]["layer_created_by"] == "debootstrap bookworm"
    executables = {e["path"]: e for e in json.loads(run_cli(tampered, "--executables", "--format", "json")[1])}
    assert executables["/usr/bin/ls"]["package"] == "dpkg/coreutils"
    assert executables["/usr/local/bin/dropped"]["package"] is None


def test_layers_view(tampered: str) -> None:
    code, out, err = run_cli(tampered, "--layers", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["index"], r["created_by"]) for r in rows] == \
        [(0, "debootstrap bookworm"), (1, "COPY app/ / # tampering")]
    assert (rows[1]["added"], rows[1]["changed"], rows[1]["removed"]) == (3, 5, 1)
    assert rows[0]["diff_id"].startswith("sha256:") and rows[0]["size"] > 0


def test_diff_lists_packages_added_removed_upgraded(image_writer) -> None:
    a = image_writer(ImageSpec([fx.debian_base_layer()]), "legacy", name="a")
    b = image_writer(ImageSpec([fx.upgraded_base_layer()]), "legacy", name="b")
    for extra in ((), ("--all",)):
        code, out, err = run_cli("diff", a, b, "--format", "json", *extra)
        assert code == 0, err
        result = json.loads(out)
        assert result["packages"]["upgraded"] == [
            {"manager": "dpkg", "name": "coreutils", "arch": "amd64", "a": "9.1-1", "b": "9.1-2"}]
        assert [p["name"] for p in result["packages"]["added"]] == ["base-files-ng"]
        assert [p["name"] for p in result["packages"]["removed"]] == ["base-files"]
        assert result["summary"]["packages"] == {"added": ["dpkg/base-files-ng"], "removed": ["dpkg/base-files"],
                                                 "upgraded": ["dpkg/coreutils 9.1-1 → 9.1-2"]}


def test_apk_integrity_sha1_and_symlinks(image_writer) -> None:
    base = fx.entries({"/lib/apk/db/installed": fx.apk_installed(), "/etc/securetty": fx.SECURETTY,
                       "/lib/ld-musl-x86_64.so.1": b"musl loader", "/bin/busybox": fx.BUSYBOX,
                       "/etc/os-release": b"ID=alpine\nVERSION_ID=3.20.3\n"})
    # apk records a symlink's Z: as the SHA-1 of its target's text, not of the file it reaches
    base.append(fx.E("lib/libc.musl-x86_64.so.1", "symlink", target="ld-musl-x86_64.so.1"))
    genuine = packages_json(image_writer(ImageSpec([base]), "legacy"))["integrity"]
    assert (genuine["modified"], genuine["missing"], genuine["checked"], genuine["ok"]) == ([], [], 4, 4)
    tampered = packages_json(image_writer(ImageSpec([base, [fx.E("bin/", "dir"),
                                                            fx.E("bin/busybox", data=b"evil", mode=0o755)]]),
                                          "legacy"))["integrity"]
    assert [(m["path"], m["algorithm"], m["layer"]) for m in tampered["modified"]] == [("/bin/busybox", "sha1", 1)]


@pytest.mark.skipif(fx.have_rpm() is not None, reason=str(fx.have_rpm()))
def test_rpm_integrity_sha256(image_writer, tmp_path: Path) -> None:
    db = fx.rpm_sqlite_db(tmp_path, fx.build_rpms(tmp_path))
    layer = fx.entries({"/var/lib/rpm/rpmdb.sqlite": (db / "rpmdb.sqlite").read_bytes(),
                        "/etc/hello.conf": b"conf\n", "/etc/world.conf": b"edited\n"})
    layer += fx.entries({"/usr/bin/hello": fx.HELLO_BYTES, "/usr/bin/world": fx.HELLO_BYTES[:-1] + b"!"}, mode=0o755)
    report = packages_json(image_writer(ImageSpec([layer]), "legacy"))
    assert {p["name"]: p["version"] for p in report["packages"]} == {"hello-fixture": "1:1.2.3-4",
                                                                     "world-fixture": "1.2.3-4"}
    integrity = report["integrity"]
    assert [(m["path"], m["algorithm"]) for m in integrity["modified"]] == [("/usr/bin/world", "sha256")]
    assert integrity["config_changed"] == [{"path": "/etc/world.conf", "package": "rpm/world-fixture"}]
    assert integrity["ok"] == 2
