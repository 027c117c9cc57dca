"""What ``--packages`` and ``diff`` show about packages, as a user sees it: the CLI in a subprocess.

Also the answers integrity gives from the digests the scan takes as the layers stream past
(``packages.prehash``): a name written twice in one layer, a hardlink made before its source was
rewritten, each from a cold scan and again from the cache.
"""

from __future__ import annotations

import json

import pytest

from testdata import packages_fixtures as fx
from testdata.imagebuilder import ImageSpec
from tests.conftest import run_cli


def _check(result: tuple[int, str, str]) -> str:
    code, out, err = result
    assert code == 0, err
    assert "Traceback" not in err and "internal error" not in err
    return out


def _upgraded_pair(image_writer) -> tuple[str, str]:
    return (image_writer(ImageSpec([fx.debian_base_layer()]), "legacy", name="a"),
            image_writer(ImageSpec([fx.upgraded_base_layer()]), "legacy", name="b"))


def test_diff_table_lists_packages_removed_added_upgraded(image_writer) -> None:
    a, b = _upgraded_pair(image_writer)
    for extra in ((), ("--all",)):
        lines = _check(run_cli("diff", a, b, *extra)).splitlines()
        start = lines.index("packages (1 removed, 1 added, 1 upgraded)")
        assert lines[start + 1:start + 4] == ["- dpkg/base-files 12.4+deb12u5 (amd64)",
                                              "+ dpkg/base-files-ng 12.4+deb12u5 (amd64)",
                                              "~ dpkg/coreutils 9.1-1 → 9.1-2 (amd64)"]
        assert any(line.split() == ["packages", "1", "removed,", "1", "added,", "1", "upgraded"]
                   for line in lines[:start])  # the summary block's count line, before the list


def test_diff_table_without_package_changes_has_no_package_section(image_writer) -> None:
    a = image_writer(ImageSpec([fx.debian_base_layer()]), "legacy", name="a")
    b = image_writer(ImageSpec([fx.debian_base_layer(), fx.tampering_layer()]), "legacy", name="b")
    out = _check(run_cli("diff", a, b))
    assert not any(line.startswith("packages (") for line in out.splitlines())


def test_diff_table_bounds_a_long_package_list(image_writer) -> None:
    """1,200 packages added: 1,000 lines and one '… and 200 more', like every list of the diff."""
    base = fx.debian_base_layer()
    grown = fx.debian_base_layer()
    extra = "".join(f"\nPackage: extra{i:04d}\nStatus: install ok installed\nArchitecture: all\nVersion: 1.{i}\n"
                    for i in range(1200))
    for entry in grown:
        if entry.path == "var/lib/dpkg/status":
            entry.data = entry.data + extra.encode()
    a = image_writer(ImageSpec([base]), "legacy", name="a")
    b = image_writer(ImageSpec([grown]), "legacy", name="b")
    lines = _check(run_cli("diff", a, b)).splitlines()
    start = lines.index("packages (0 removed, 1,200 added, 0 upgraded)")
    shown = [line for line in lines[start + 1:] if line.startswith("+ dpkg/extra")]
    assert len(shown) == 1000 and shown[0] == "+ dpkg/extra0000 1.0 (all)"
    assert "+ … and 200 more" in lines
    result = json.loads(_check(run_cli("diff", a, b, "--format", "json")))
    assert len(result["packages"]["added"]) == 1200  # the JSON keeps them all


def _modified(ref: str, *extra: str) -> list[tuple[str, str]]:
    report = json.loads(_check(run_cli(ref, "--packages", "--format", "json", *extra)))
    assert report["integrity"]["available"] is True
    return [(m["path"], m["package"]) for m in report["integrity"]["modified"]]


def test_a_name_written_twice_in_one_layer_is_checked_as_its_last_copy(image_writer) -> None:
    """The container sees the last copy of a name a layer writes twice: a genuine first copy must not
    hide a patched second one (a re-read that stopped at the first copy said 'ok')."""
    patched = fx.LS.replace(b"ls binary", b"ls BINARY", 1)
    app = [fx.E("usr/", "dir"), fx.E("usr/bin/", "dir"), fx.E("usr/bin/ls", data=fx.LS, mode=0o755),
           fx.E("usr/bin/ls", data=patched, mode=0o755)]
    ref = image_writer(ImageSpec([fx.debian_base_layer(), app]), "legacy")
    assert _modified(ref, "--no-cache") == [("/bin/ls", "dpkg/coreutils")]
    assert _modified(ref) == _modified(ref) == [("/bin/ls", "dpkg/coreutils")]  # stored, then from the cache
    table = _check(run_cli(ref, "--packages"))
    assert "MODIFIED  /bin/ls  (dpkg/coreutils; layer 1: /bin/sh -c #(nop) ADD layer1 /)" in table


@pytest.mark.parametrize("where", ["opt", "tmp"])  # hashed during the scan; /tmp/ is not: read again
def test_a_hardlink_keeps_the_bytes_its_source_had_when_it_was_made(image_writer, where: str) -> None:
    """``/usr/bin/ls`` linked to ``/opt/x``, then ``/opt/x`` rewritten: ls keeps the old bytes, as
    on disk. Genuine then evil: ls is genuine; evil then genuine: ls is modified. Cold and cached."""
    evil = fx.LS.replace(b"ls binary", b"ls evil!!", 1)
    for first, second, expected in ((fx.LS, evil, []), (evil, fx.LS, [("/bin/ls", "dpkg/coreutils")])):
        app = [fx.E(f"{where}/", "dir"), fx.E(f"{where}/x", data=first, mode=0o755),
               fx.E("usr/", "dir"), fx.E("usr/bin/", "dir"), fx.E("usr/bin/ls", "hardlink", target=f"{where}/x"),
               fx.E(f"{where}/x", data=second, mode=0o755)]
        ref = image_writer(ImageSpec([fx.debian_base_layer(), app]), "legacy")
        assert _modified(ref, "--no-cache") == expected
        assert _modified(ref) == _modified(ref) == expected


def test_summary_table_counts_packages_by_manager(image_writer) -> None:
    """One line, from what the summary JSON already holds (``packages`` counts and ``os``)."""
    ref = image_writer(ImageSpec([fx.debian_base_layer()]), "legacy")
    lines = _check(run_cli(ref)).splitlines()
    assert "packages: dpkg 3 (debian 12)" in lines
    data = json.loads(_check(run_cli(ref, "--format", "json")))
    assert data["packages"] == {"dpkg": 3} and data["os"]["id"] == "debian"
    bare = image_writer(ImageSpec([fx.entries({"/etc/hostname": b"x\n"})]), "legacy")
    assert "packages: -" in _check(run_cli(bare)).splitlines()


def test_diff_table_user_line_shows_uids_when_they_differ(image_writer) -> None:
    """``USER app`` in both, but app is UID 0 in B's /etc/passwd: the user line says so."""
    def spec(uid: int) -> ImageSpec:
        passwd = f"root:x:0:0:root:/root:/bin/sh\napp:x:{uid}:{uid}::/home/app:/bin/sh\n".encode()
        return ImageSpec([fx.entries({"/etc/passwd": passwd, "/etc/group": b"root:x:0:\n"})], config={"User": "app"})

    a = image_writer(spec(1000), "legacy", name="a")
    b = image_writer(spec(0), "legacy", name="b")
    lines = [" ".join(line.split()) for line in _check(run_cli("diff", a, b)).splitlines()]
    assert "user app (UID 1000) → app (UID 0)" in lines
    same = [" ".join(line.split()) for line in _check(run_cli("diff", a, a)).splitlines()]
    assert "user app (both)" in same
