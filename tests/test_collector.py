"""Python's cyclic collector stays off the trees a build makes (``inspector.fs.collector``).

A merged tree holds no reference cycles, so every pass of the collector over it is wasted: on the
bench's million-entry image, layers decoded from the cache with the collector running cost 1,777
collections (1.37 s), and a fresh tree was walked twice more by the reports' first allocations.
Each case runs in a process of its own, so the collector's state is that process's alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from testdata.imagebuilder import E, ImageSpec

from .conftest import REPO_ROOT, write_image


def _spec() -> ImageSpec:
    layers = []
    for number in range(3):
        layer = [E(f"l{number}/", "dir")]
        layer += [E(f"l{number}/d{i:03d}/", "dir") for i in range(40)]
        layer += [E(f"l{number}/d{i % 40:03d}/f{i:05d}", data=b"x", mode=0o755 if i % 7 == 0 else 0o644)
                  for i in range(3000)]
        layers.append(layer)
    return ImageSpec(layers, config={"Entrypoint": ["/l0/d000/f00000"]})


PROBE = r"""
import gc, json, sys
from pathlib import Path
import inspector
from inspector.fs import build_filesystem, collector
from inspector.fs.cache import CacheUse, LayerCache
from inspector.reports.facts import FACTS_CODEC, probe

ref, cache_dir, freeze = sys.argv[1], Path(sys.argv[2]), sys.argv[3] == "freeze"
collector.freeze_built = freeze
during = []
building = False
gc.callbacks.append(lambda phase, info: building and phase == "start" and during.append(info["generation"]))
result = {}
for run in ("fill", "from cache"):
    use = CacheUse(LayerCache(cache_dir), FACTS_CODEC)
    with inspector.open_image("docker-archive:" + ref) as image:
        building = True
        fs = build_filesystem(image, probe=probe, cache=use)
        building = False
    result[run] = {"collections": len(during), "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                   "entries": fs.count(), "hits": use.store.hits}
    during.clear()
    gc.unfreeze()
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_image(tmp_path_factory.mktemp("collector"), _spec(), "legacy", "image")


def _python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -c script args...`` in a process of its own (its collector untouched by pytest's); it must succeed."""
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def _probe(archive: str, cache: Path, mode: str) -> dict[str, dict[str, int | bool]]:
    result: dict[str, dict[str, int | bool]] = json.loads(_python(PROBE, archive, str(cache), mode).stdout)
    return result


def test_no_collection_runs_while_a_tree_is_built_or_decoded_from_the_cache(archive: str, tmp_path: Path) -> None:
    result = _probe(archive, tmp_path / "cache", "library")
    assert result["fill"]["entries"] == result["from cache"]["entries"] == 3 * 3041
    assert result["from cache"]["hits"] == 3, "the second build must come from the cache"
    # none while it is paused; one as it is enabled again (what was allocated meanwhile is counted)
    assert result["fill"]["collections"] <= 1
    assert result["from cache"]["collections"] <= 1  # 13 before the collector was paused for the whole build
    assert result["fill"]["enabled"] and result["from cache"]["enabled"], "the collector must be on again after"


def test_a_library_caller_is_left_unfrozen_and_the_command_line_freezes_its_tree(archive: str, tmp_path: Path) -> None:
    library = _probe(archive, tmp_path / "cache-a", "library")
    assert library["fill"]["frozen"] == library["from cache"]["frozen"] == 0
    command = _probe(archive, tmp_path / "cache-b", "freeze")
    assert command["fill"]["frozen"] > 3 * 3041 and command["from cache"]["frozen"] > 3 * 3041
    # frozen before the collector is back: not even that one pass over the new tree
    assert command["fill"]["collections"] == command["from cache"]["collections"] == 0


def test_the_command_line_sets_the_freeze_and_its_output_is_the_same(archive: str) -> None:
    """``inspect-image`` (``launch.main``) freezes its trees; what it prints does not change."""
    script = ("import gc, sys; from inspector import launch; from inspector.fs import collector\n"
              "sys.argv = ['inspect-image', sys.argv[1], '--format', 'json', '--no-cache', '--jobs', '1']\n"
              "try:\n    launch.main()\nexcept SystemExit:\n    pass\n"
              "sys.stderr.write(f'frozen={gc.get_freeze_count()} flag={collector.freeze_built}')")
    via_launch = _python(script, "docker-archive:" + archive)
    frozen = int(via_launch.stderr.split("frozen=")[1].split()[0])
    assert frozen > 3 * 3041 and "flag=True" in via_launch.stderr
    plain = _python("from inspector.cli import main; main()", "docker-archive:" + archive,
                    "--format", "json", "--no-cache", "--jobs", "1")
    assert via_launch.stdout == plain.stdout and json.loads(plain.stdout)["image"]["entries"] == 3 * 3041


def test_an_audit_leaves_no_image_frozen(archive: str) -> None:
    """An audit's worker (forked from the command line: the freeze is inherited) builds one tree per
    image: each is let go of (``gc.unfreeze``) once its line is made, so one image's cyclic garbage
    is never kept out of the collector's sight for the rest of the fleet."""
    script = ("import gc, json, sys\n"
              "from inspector.audit.tasks import Settings, audit_image\n"
              "from inspector.cli import SourceArgs\n"
              "from inspector.fs import collector\n"
              "from inspector.limits import DEFAULT\n"
              "collector.freeze_built = True\n"
              "source = SourceArgs(None, None, 'never', None, False, True, DEFAULT)\n"
              "outcome = audit_image(sys.argv[1], Settings(source, False))\n"
              "print(json.dumps({'frozen': gc.get_freeze_count(), 'line': json.loads(outcome.line)}))")
    result = json.loads(_python(script, "docker-archive:" + archive).stdout)
    assert result["line"]["summary"]["image"]["entries"] == 3 * 3041
    assert result["frozen"] == 0
