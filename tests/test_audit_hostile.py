"""``inspect-image audit`` on a hostile image: 1,500 setuid files named with control characters.

The line keeps ``MAX_FINDINGS_PER_RULE`` findings of a rule and counts the rest in
``findings_truncated``; names reach stdout as JSON escapes (one line per image, no raw ESC or
newline) and the stderr table counts every finding. Run under a memory and a time limit.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

from inspector.audit.tasks import MAX_FINDINGS_PER_RULE
from testdata.imagebuilder import E, ImageSpec, write_docker_archive
from tests.conftest import cli_env

COUNT = 1500


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_a_flood_of_setuid_files_with_control_characters_is_bounded(tmp_path: Path) -> None:
    entries = [E("bin/", "dir"), *(E(f"bin/s\x1b[31m{i}\nx", data=b"x", mode=0o4755) for i in range(COUNT))]
    archive = tmp_path / "flood.tar"
    write_docker_archive(archive, ImageSpec([entries]))
    proc = subprocess.run([sys.executable, "-m", "inspector", "audit", f"docker-archive:{archive}"],
                          capture_output=True, env={**cli_env(), "XDG_CACHE_HOME": str(tmp_path / "cache")},
                          preexec_fn=_limit, timeout=120, stdin=subprocess.DEVNULL)
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "internal error" not in err
    assert b"\x1b" not in proc.stdout and len(out.splitlines()) == 1
    line = json.loads(out)
    setuid = [f for f in line["findings"] if f["rule"] == "setuid"]
    assert len(setuid) == MAX_FINDINGS_PER_RULE
    assert line["findings_truncated"]["setuid"] == COUNT - MAX_FINDINGS_PER_RULE  # (and unowned-executable)
    assert any(row.split()[:3] == ["setuid", "1", f"{COUNT:,}"] for row in err.splitlines()), err
