"""``--bin`` as ``ls -l`` shows it, owners named from the image's own /etc/passwd and /etc/group
(hostile input: bounded, malformed lines skipped, names escaped), and the user shown the same way
in the summary and ``--config`` (issue 13, items 2, 5, 7's ``65532 (nonroot)``)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from testdata.imagebuilder import E, ImageSpec

from .conftest import cli_env, write_image

MEMORY_LIMIT = 1 << 30
PASSWD = (b"root:x:0:0:root:/root:/bin/bash\n"
          b"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
          b"app:x:1000:1000::/home/app:/bin/sh\n"
          b"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
GROUP = b"root:x:0:\nstaff:x:50:app\nnonroot:x:65532:\n"
MTIME = 1_700_000_000  # 2023-11-14 UTC


def d(path: str) -> E:
    return E(path, "dir")


def run(*args: str, columns: int | None = 80) -> tuple[int, str, str]:
    """The CLI in a subprocess under a memory and a time limit, ``COLUMNS`` set (or not: piped)."""
    env = cli_env()
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = str(columns)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    proc = subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, env=env,
                          preexec_fn=limit, timeout=60)  # noqa: PLW1509
    out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and "internal error" not in err, err
    return proc.returncode, out, err


def merged_usr(passwd: bytes | None = PASSWD, group: bytes | None = GROUP, config: dict[str, object] | None = None,
               passwd_entry: E | None = None) -> ImageSpec:
    etc = [d("etc")]
    if passwd_entry is not None:
        etc.append(passwd_entry)
    elif passwd is not None:
        etc.append(E("etc/passwd", data=passwd))
    if group is not None:
        etc.append(E("etc/group", data=group))
    return ImageSpec(layers=[
        [d("usr"), d("usr/bin"), E("bin", "symlink", target="usr/bin"), *etc],
        [E("usr/bin/bash", data=b"\x7fELF" + b"\0" * 1_234_563, mode=0o755, mtime=MTIME),
         E("usr/bin/sh", "symlink", target="bash", mtime=MTIME),
         E("usr/bin/tool", data=b"#!/bin/sh\n" + b"#" * 12_000, mode=0o2755, uid=1000, gid=50, mtime=MTIME),
         E("usr/bin/orphan", data=b"x", mode=0o4755, uid=4242, gid=4343, mtime=MTIME),
         E("usr/bin/nonroot-owned", data=b"", mode=0o700, uid=65532, gid=65532, mtime=MTIME)],
    ], config=config or {"Entrypoint": ["/bin/sh"]})


def rows(out: str) -> dict[str, list[str]]:
    """The ``ls -l`` rows of a listing, by name (the sixth token on)."""
    found = {}
    for line in out.splitlines():
        tokens = line.split()
        if len(tokens) >= 6 and tokens[0][:1] in "-dlcbps" and len(tokens[0]) == 10:
            found[tokens[5]] = tokens
    return found


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_image(tmp_path_factory.mktemp("binls"), merged_usr(), "legacy", "merged")


def test_bin_is_ls_l_with_the_images_names(image: str) -> None:
    code, out, err = run(image, "--bin")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "/bin -> usr/bin (merged /usr)"
    assert lines[1] == "/usr/bin: 5 entries"
    listed = rows(out)
    assert listed["bash"] == ["-rwxr-xr-x", "root", "root", "1.23MB", "2023-11-14", "bash"]
    assert listed["sh"] == ["lrwxrwxrwx", "root", "root", "0B", "2023-11-14", "sh", "->", "bash"]
    assert listed["tool"] == ["-rwxr-sr-x", "app", "staff", "12kB", "2023-11-14", "tool"]
    assert listed["orphan"][:3] == ["-rwsr-xr-x", "4242", "4343"]  # not in /etc/passwd: numbers
    assert listed["nonroot-owned"][1:3] == ["nonroot", "nonroot"]
    assert all(len(line) <= 80 for line in lines)


def test_bin_json_is_unchanged_and_summary_json_names_owners(image: str) -> None:
    code, out, _ = run(image, "--bin", "--format", "json")
    entries = json.loads(out)
    assert {e["path"] for e in entries} >= {"/usr/bin/bash", "/usr/bin/sh"}
    assert all("user" not in e for e in entries)  # the documented --files objects, as before
    code, out, _ = run(image, "--format", "json")
    summary = json.loads(out)
    assert summary["bin"]["user_names"] == {"0": "root", "1000": "app", "65532": "nonroot"}
    assert summary["bin"]["group_names"] == {"0": "root", "50": "staff", "65532": "nonroot"}


def test_no_passwd_shows_numbers(tmp_path: Path) -> None:
    ref = write_image(tmp_path, merged_usr(passwd=None, group=None), "legacy", "bare")
    code, out, _ = run(ref, "--bin")
    assert code == 0
    assert rows(out)["bash"][1:3] == ["0", "0"] and rows(out)["tool"][1:3] == ["1000", "50"]


HOSTILE_PASSWD = (
    b"root:x:0:0:root:/root:/bin/bash\n"
    b"\x1b]0;owned\x07:x:1000:1000::/:/bin/sh\n"  # a terminal title attack as a name: skipped
    + b"A" * 300 + b":x:4242:1::/:/bin/sh\n"  # longer than any real name: skipped
    b"root 0B 2023-11-14 fake:x:4242:1::/:/\n"  # spaces could pose as other columns: skipped
    + b"neg:x:-1:0::/:/\nhuge:x:99999999999999999999:0::/:/\nhex:x:0x10:0::/:/\n"
    b"nocolons\n::::::\n+nis::0:0:::\n\n#comment:x:4343:0::/:/\n"
    b"\xff\xfe:x:65532:1::/:/\n"  # not UTF-8
    b"late-root:x:0:0::/:/\n"  # the first line for an id wins, as getpwuid does
)


@pytest.mark.parametrize("passwd", [
    HOSTILE_PASSWD,
    b"x:" * 30_000,  # one line, 60 kB of fields
    b"u:x:1:1::/:/\n" * 4_000,  # many lines (52 kB)
    b"root:x:0:0::/:/\n" + b"#" * (70 << 10),  # larger than what the probe keeps: ignored
], ids=["malformed", "fields", "lines", "too-large"])
def test_hostile_passwd_is_bounded_and_skipped(tmp_path: Path, passwd: bytes) -> None:
    ref = write_image(tmp_path, merged_usr(passwd=passwd, group=passwd), "legacy", "hostile")
    for args in (["--bin"], [], ["--config"]):
        code, out, err = run(ref, *args)
        assert code == 0 and err == "", err
        assert "\x1b" not in out and "\x07" not in out
    listed = rows(run(ref, "--bin")[1])
    assert listed["tool"][1] == "1000" and listed["orphan"][1] == "4242"
    if passwd is HOSTILE_PASSWD:
        assert listed["bash"][1] == "root"


def test_passwd_that_is_not_a_file(tmp_path: Path) -> None:
    for name, entry in (("dir", E("etc/passwd", "dir")),
                        ("link", E("etc/passwd", "symlink", target="/usr/bin/bash")),
                        ("fifo", E("etc/passwd", "fifo"))):
        ref = write_image(tmp_path, merged_usr(passwd_entry=entry), "legacy", name)
        code, out, err = run(ref, "--bin")
        assert code == 0 and err == "", (name, err)
        assert rows(out)["bash"][1] == "0", name


@pytest.mark.parametrize(("user", "shown"), [
    (None, "0 (root, by default)"), ("65532", "65532 (nonroot)"), ("65532:65532", "65532:65532 (nonroot)"),
    ("app", "app"), ("4242", "4242"),
])
def test_user_is_shown_the_same_in_summary_and_config(tmp_path: Path, user: str | None, shown: str) -> None:
    config: dict[str, object] = {"Entrypoint": ["/bin/sh"]}
    if user is not None:
        config["User"] = user
    ref = write_image(tmp_path, merged_usr(config=config), "legacy", "user")
    for args in ([], ["--config"]):
        code, out, _ = run(ref, *args)
        assert code == 0
        pairs = {line.split(None, 1)[0]: line.split(None, 1)[1] for line in out.splitlines()
                 if line.startswith(("user ", "workdir ")) and len(line.split(None, 1)) == 2}
        assert pairs["user"].strip() == shown, (args, out)
        assert pairs["workdir"].strip() == "/", (args, out)


def test_piped_output_never_wraps(image: str) -> None:
    """No COLUMNS and stdout a pipe: one row per line, however long."""
    spec = merged_usr(config={"Entrypoint": ["/bin/sh", "-c", " ".join(["word"] * 60)]})
    ref = write_image(Path(os.path.dirname(image)), spec, "legacy", "long")
    code, out, _ = run(ref, "--config", columns=None)
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("entrypoint "))
    assert line.endswith("word'") and len(line) > 200
    code, out, _ = run(ref, "--config", columns=80)
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "/bin/sh -c 'word" in out
