"""Real Debian packages in a distroless-style layer, built exactly as distroless does
(``apt-get download``, ``dpkg-deb --field``/``-e``/``--fsys-tarfile``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from testdata import packages_fixtures as fx
from testdata.imagebuilder import ImageSpec
from tests.build_cache import cache_dir
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def debs() -> list[Path]:
    found = fx.download_debs(cache_dir("INSPECTOR_DEB_CACHE", "inspect-image-debs"))
    if isinstance(found, str):
        pytest.skip(found)
    return found


def test_distroless_layer_of_real_packages(debs: list[Path], tmp_path: Path, write_image) -> None:
    layer = fx.distroless_layer(debs, tmp_path)
    ref = write_image(tmp_path, ImageSpec([layer]), "legacy", "real")
    code, out, err = run_cli(ref, "--packages", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    expected = {}
    for deb in debs:
        fields = subprocess.run(["dpkg-deb", "--field", str(deb), "Package", "Version", "Architecture"],
                                check=True, capture_output=True, text=True).stdout
        values = dict(line.split(": ", 1) for line in fields.splitlines())
        expected[values["Package"]] = (values["Version"], values["Architecture"])
    assert {p["name"]: (p["version"], p["arch"]) for p in report["packages"]} == expected
    assert report["os"]["id"] == "debian"  # base-files ships /etc/os-release (through /usr/lib/os-release)
    sums = sum(1 for deb in debs for _ in (tmp_path / f"control-{deb.name.split('_')[0]}" / "md5sums").open()
               if (tmp_path / f"control-{deb.name.split('_')[0]}" / "md5sums").exists())
    integrity = report["integrity"]
    assert integrity["modified"] == [] and integrity["missing"] == []
    assert integrity["checked"] == integrity["ok"] == sums > 10
    # mawk's binary is owned; base-files' one executable conffile is not: distroless keeps no
    # conffiles list (md5sums leave conffiles out), so nothing in the image says who shipped it
    assert [u["path"] for u in report["unowned_executables"]] == ["/etc/update-motd.d/10-uname"]
    files = {e["path"]: e for e in json.loads(run_cli(ref, "--files", "--format", "json")[1])}
    assert files["/usr/bin/mawk"]["package"] == "dpkg/mawk"
