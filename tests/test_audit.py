"""``inspect-image audit``: one NDJSON line per image, error lines, exit codes, resume, shared cache.

Every test runs the CLI in a subprocess, as a user (or a CI job) would, on small fleets made by
``testdata.audit_fleet``: images on two shared bases.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from testdata.audit_fleet import app_spec, base_layer, write_fleet
from testdata.imagebuilder import E, ImageSpec, write_docker_archive
from tests.conftest import cli_env, run_cli

FIELDS = {"reference", "manifest_digest", "summary", "packages", "findings"}


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def audit(*args: str, cache: Path, timeout: float = 60) -> tuple[int, str, str]:
    env_cache = {"XDG_CACHE_HOME": str(cache)}
    old = {k: os.environ.get(k) for k in env_cache}
    os.environ.update(env_cache)
    try:
        return run_cli("audit", *args, timeout=timeout)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return write_fleet(tmp_path_factory.mktemp("fleet"), 4)


def test_one_line_per_image_with_its_report(fleet: list[str], tmp_path: Path) -> None:
    code, out, err = audit(*fleet, "--jobs", "2", cache=tmp_path / "cache")
    assert code == 0, err
    found = lines(out)
    assert sorted(line["reference"] for line in found) == sorted(fleet)
    for line in found:
        assert FIELDS <= set(line)
        assert line["manifest_digest"].startswith("sha256:")
        assert line["summary"]["image"]["manifest_digest"] == line["manifest_digest"]
        assert line["summary"]["entrypoint"]["exists"] is True
        assert {"packages", "integrity", "unowned_executables"} <= set(line["packages"])
        rules = {f["rule"] for f in line["findings"]}
        shell_base = line["summary"]["config"]["user"] in (None, "")
        assert ("shell" in rules) is shell_base and ("root-user" in rules) is shell_base
        assert all(set(f) == {"rule", "path", "evidence"} for f in line["findings"])
    # the final table on stderr: images, failed, findings by rule; 2 bases + 4 apps = 6 unique layers
    assert "audit: 4 images: 4 audited, 0 failed; 6 unique layers (6 scanned, 0 from the cache)" in err, err
    assert any(row.split()[:3] == ["shell", "2", "2"] for row in err.splitlines()), err
    assert "Traceback" not in err


def test_an_unreadable_image_is_one_error_line_and_the_audit_goes_on(fleet: list[str], tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.tar"  # the app layer's bytes are not the layer its diff ID names
    write_docker_archive(tampered, app_spec(7, "shell"), "docker25",
                         layer_bytes_hook=lambda index, data: data.replace(b"app7", b"evil") if index == 1 else data)
    missing = str(tmp_path / "missing.tar")
    code, out, err = audit(fleet[0], str(tampered), missing, fleet[1], cache=tmp_path / "cache")
    by_reference = {line["reference"]: line for line in lines(out)}
    assert set(by_reference) == {fleet[0], str(tampered), missing, fleet[1]}
    assert by_reference[missing]["exit_code"] == 2 and "cannot open" in by_reference[missing]["error"]
    assert by_reference[str(tampered)]["exit_code"] == 3 and "error" in by_reference[str(tampered)]
    assert by_reference[str(tampered)]["manifest_digest"].startswith("sha256:")
    assert FIELDS <= set(by_reference[fleet[1]])
    assert code == 3  # the worst failure: a digest mismatch
    assert "2 failed" in err and "Traceback" not in err and "internal error" not in err
    # nothing of the tampered layer was cached: a rerun of it fails the same way
    code, out, _ = audit(str(tampered), cache=tmp_path / "cache")
    assert code == 3 and lines(out)[0]["exit_code"] == 3


def test_exit_codes_follow_the_enabled_rules(fleet: list[str], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    quiet = [fleet[1], fleet[3]]  # the base without a shell, running as user 1000
    code, _, err = audit(*fleet, "--fail-on", "shell", cache=cache)
    rows = {row.split()[0]: row.split()[1:] for row in err.splitlines()[1:]}
    assert code == 1 and rows["shell"] == ["2", "2", "yes"] and rows["root-user"] == ["2", "2", "no"], err
    assert audit(*fleet, "--fail-on", "capabilities,setuid", cache=cache)[0] == 0
    assert audit(*quiet, "--fail-on", "shell,root-user", cache=cache)[0] == 0
    policy = tmp_path / "policy.toml"
    policy.write_text('fail-on = ["shell"]\n[allow]\nshell = ["/bin/sh"]\n')
    code, out, _ = audit(*fleet, "--policy", str(policy), cache=cache)
    assert code == 0 and not any(f["rule"] == "shell" for line in lines(out) for f in line["findings"])
    code, _, err = audit(*fleet, "--fail-on", "no-such-rule", cache=cache)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no-such-rule" in err


def test_the_list_comes_from_a_file_or_stdin(fleet: list[str], tmp_path: Path) -> None:
    listing = tmp_path / "images.txt"
    listing.write_text(f"# the fleet\n{fleet[0]}\n\n  {fleet[1]}  \n{fleet[0]}\n")
    code, out, err = audit("--from", str(listing), fleet[2], cache=tmp_path / "cache")
    assert code == 0, err
    assert sorted(line["reference"] for line in lines(out)) == sorted(fleet[:3])  # each once
    proc = subprocess.run([sys.executable, "-m", "inspector", "audit", "--from", "-"], input=fleet[3].encode(),
                          capture_output=True, env={**cli_env(), "XDG_CACHE_HOME": str(tmp_path / "cache")}, timeout=60)
    assert proc.returncode == 0 and [line["reference"] for line in lines(proc.stdout.decode())] == [fleet[3]]
    code, _, err = audit(cache=tmp_path / "cache")
    assert code == 2 and "no image to audit" in err


def test_out_appends_and_skips_what_it_holds(fleet: list[str], tmp_path: Path) -> None:
    out_file = tmp_path / "audit.ndjson"
    assert audit(*fleet[:2], "--out", str(out_file), "--fail-on", "shell", cache=tmp_path / "cache")[0] == 1
    code, out, err = audit(*fleet, "--out", str(out_file), "--fail-on", "shell", cache=tmp_path / "cache")
    assert out == ""  # the lines went to the file
    assert code == 1  # the findings of lines already there still count
    assert "4 images: 2 audited, 2 already in" in err
    assert sorted(line["reference"] for line in lines(out_file.read_text())) == sorted(fleet)


def test_resume_after_sigterm_audits_every_image_exactly_once(tmp_path: Path) -> None:
    fleet = write_fleet(tmp_path / "fleet", 32)  # a wide window between the second line and the last
    out_file = tmp_path / "audit.ndjson"
    env = {**cli_env(), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "inspector", "audit", *fleet, "--jobs", "1", "--out", str(out_file)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if out_file.exists() and out_file.read_bytes().count(b"\n") >= 2:
            proc.send_signal(signal.SIGTERM)
            break
        time.sleep(0.005)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, f"not killed midway: exit {proc.returncode}, {err!r}"
    first = out_file.read_text()
    assert 2 <= first.count("\n") < len(fleet)
    assert not first or first.endswith("\n")
    resumed = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    references = [line["reference"] for line in lines(out_file.read_text())]
    assert sorted(references) == sorted(fleet)  # every image, none twice
    assert f"already in {out_file}" in resumed.stderr.decode()


def test_a_cut_off_last_line_is_replaced_not_kept(fleet: list[str], tmp_path: Path) -> None:
    out_file = tmp_path / "audit.ndjson"
    assert audit(fleet[0], "--out", str(out_file), cache=tmp_path / "cache")[0] == 0
    whole = out_file.read_bytes()
    with out_file.open("ab") as handle:
        handle.write(b'{"reference": "' + fleet[1].encode() + b'", "manifest_di')  # a kill mid-write
    assert audit(fleet[0], fleet[1], "--out", str(out_file), cache=tmp_path / "cache")[0] == 0
    text = out_file.read_bytes()
    assert text.startswith(whole)
    assert sorted(line["reference"] for line in lines(text.decode())) == sorted(fleet[:2])


def test_processes_filling_one_cache_entry_at_once_leave_one_sound_entry(tmp_path: Path) -> None:
    """Several inspections on one shared cache directory scan the same base layer at the same time:
    each writes its own temporary file and renames it into place, so every reader sees a whole entry."""
    big_base = base_layer("shell", files=2000)  # long enough a scan that the writers overlap
    spec = ImageSpec([big_base, [E("app/", "dir"), E("app/x", data=b"x")]], config={"Entrypoint": ["/bin/sh"]})
    archive = tmp_path / "image.tar"
    write_docker_archive(archive, spec, "docker25")
    env = {**cli_env(), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "inspector", str(archive), "--format", "json"]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    results = [proc.communicate(timeout=120) for proc in runs]
    assert all(proc.returncode == 0 for proc in runs), [err for _, err in results]
    outputs = {json.dumps({k: v for k, v in json.loads(out).items() if k != "verification"}, sort_keys=True)
               for out, _ in results}
    assert len(outputs) == 1
    layers = tmp_path / "cache" / "inspect-image" / "layers"
    names = sorted(p.name for p in layers.iterdir())
    assert len(names) == 2 and not any(name.startswith(".tmp-") for name in names), names
    # the entry that won is sound: a cached rerun answers from it, with the same report
    again = subprocess.run(command, env=env, capture_output=True, timeout=60)
    assert again.returncode == 0
    assert json.dumps({k: v for k, v in json.loads(again.stdout).items() if k != "verification"},
                      sort_keys=True) in outputs
    assert json.loads(again.stdout)["verification"]["layers_checked"] == 0  # both layers from the cache


def test_a_hostile_list_is_one_error_line_under_limits(fleet: list[str], tmp_path: Path) -> None:
    """A --from file of one 64 MiB line (a name list from an untrusted source): refused, bounded."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    listing = tmp_path / "list.txt"
    listing.write_bytes(fleet[0].encode() + b"\n" + b"a" * (64 << 20) + b"\n")
    proc = subprocess.run([sys.executable, "-m", "inspector", "audit", "--from", str(listing)], capture_output=True,
                          env={**cli_env(), "XDG_CACHE_HOME": str(tmp_path / "cache")}, preexec_fn=limit, timeout=60)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and proc.stdout == b""
    assert len(err.strip().splitlines()) == 1 and "longer than 4096" in err and "Traceback" not in err


@pytest.mark.engine
def test_engine_images_are_audited_whole(tmp_path: Path) -> None:
    """``docker:NAME``: the engine hands out an image only as one ``docker save`` stream, which the
    audit must read once, in the image's own task (its metadata is known only after that read)."""
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        if os.environ.get("INSPECTOR_REQUIRE_DOCKER") == "1":
            pytest.fail("no Docker engine answers")
        pytest.skip("no Docker engine answers")
    tag = f"inspector-audit-test/app:{os.getpid()}"
    archive = tmp_path / "app.tar"
    spec = app_spec(0, "shell")
    write_docker_archive(archive, ImageSpec(spec.layers, config=spec.config, tags=[tag]), "legacy")
    subprocess.run(["docker", "load", "-q", "-i", str(archive)], check=True, capture_output=True)
    try:
        code, out, err = audit(f"docker:{tag}", "--fail-on", "shell", cache=tmp_path / "cache")
        found = lines(out)
        assert len(found) == 1 and "error" not in found[0], found
        assert found[0]["reference"] == f"docker:{tag}" and found[0]["summary"]["image"]["source"] == "docker"
        assert code == 1 and "Traceback" not in err
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


def test_progress_is_shown_on_a_terminal_only(fleet: list[str], tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    env = {**cli_env(), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "inspector", "audit", *fleet[:2]], env=env,
                            stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the audit ended
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and len(lines(out.decode())) == 2
    assert b"\raudit: auditing images: 2/2" in shown.replace(b"\x1b[K", b"")
    _, _, err = audit(*fleet[:2], cache=tmp_path / "cache")
    assert "\r" not in err and "auditing images" not in err  # not a terminal: the table only
