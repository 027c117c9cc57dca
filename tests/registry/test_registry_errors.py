"""What a user sees when a registry cannot give the image, or gives something else than it claims."""

from __future__ import annotations

from testdata.registry_bed import free_port

from .conftest import Bed, Runner


def test_unknown_repository(bed: Bed, run: Runner) -> None:
    line = run(f"registry:{bed.proxy.host}/no/such-repo:1").one_error(2, bed.proxy.host, "no/such-repo", "404")
    assert "NAME_UNKNOWN" in line or "MANIFEST_UNKNOWN" in line


def test_unknown_tag(bed: Bed, run: Runner) -> None:
    name = bed.names["base"].rsplit(":", 1)[0]
    run(f"registry:{name}:nope").one_error(2, "test/base", "manifest nope", "HTTP 404", "MANIFEST_UNKNOWN")


def test_unreachable_port(run: Runner) -> None:
    port = free_port()
    run(f"registry:127.0.0.1:{port}/a/b:1").one_error(2, f"127.0.0.1:{port}", "a/b", "connection refused")


def test_not_a_reference(run: Runner) -> None:
    run("registry:127.0.0.1:5000/UPPER/case").one_error(2, "repository name")
    run("registry:127.0.0.1:5000/a@sha256:1234").one_error(2, "digest")


def test_a_flipped_layer_byte_is_a_verification_failure(bed: Bed, run: Runner, proxy) -> None:
    proxy.flip_blob = bed.layers["app"][2]
    line = run(f"registry:{bed.names['app']}", "--files", "--no-cache").one_error(3, "layer 2", "digest")
    assert bed.layers["app"][2] in line


def test_a_flipped_byte_is_caught_for_cat_too(bed: Bed, run: Runner, proxy) -> None:
    assert run(f"registry:{bed.names['app']}", "--files").code == 0  # cache the scan: cat reads the layer alone
    proxy.flip_blob = bed.layers["app"][2]
    result = run("cat", f"registry:{bed.names['app']}", "/app/data.txt")
    result.one_error(3, "layer 2", "digest")


def test_a_manifest_that_lies_about_its_digest_by_tag(bed: Bed, run: Runner, proxy) -> None:
    proxy.lie_about_manifests = True
    run(f"registry:{bed.names['base']}").one_error(3, "digest")


def test_a_manifest_that_lies_about_its_digest_by_digest(bed: Bed, run: Runner, proxy) -> None:
    digest = run(f"registry:{bed.names['base']}", "--format", "json").json()["image"]["manifest_digest"]
    proxy.lie_about_manifests = True
    name = bed.names["base"].rsplit(":", 1)[0]
    run(f"registry:{name}@{digest}").one_error(3, digest, "does not match")


def test_a_platform_manifest_that_lies_inside_an_honest_index(bed: Bed, run: Runner, proxy) -> None:
    children = {m["platform"]["architecture"]: m["digest"] for m in _index(bed, "multi")["manifests"]}
    proxy.lie_about_manifests = children["arm64"]
    assert run(f"registry:{bed.names['multi']}", "--platform", "linux/amd64").code == 0
    run(f"registry:{bed.names['multi']}", "--platform", "linux/arm64").one_error(3, children["arm64"],
                                                                                 "does not match")


def _index(bed: Bed, key: str) -> dict:
    import http.client
    import json

    host, _, rest = bed.names[key].partition("/")
    name, _, tag = rest.rpartition(":")
    conn = http.client.HTTPConnection(host)
    conn.request("GET", f"/v2/{name}/manifests/{tag}", headers={"Accept": "application/vnd.oci.image.index.v1+json"})
    body = conn.getresponse().read()
    conn.close()
    return json.loads(body)


def test_429_and_503_are_retried(bed: Bed, run: Runner, proxy) -> None:
    proxy.fail = [503, 429]
    result = run(f"registry:{bed.names['base']}", "--files", "--format", "json")
    assert result.out == run(bed.archives["base"], "--files", "--format", "json").out
    assert not proxy.fail


def test_retries_are_bounded(bed: Bed, run: Runner, proxy) -> None:
    proxy.fail = [503] * 10
    run(f"registry:{bed.names['base']}").one_error(2, "test/base", "HTTP 503", "after 3 retries")
    assert proxy.counts["GET /v2/test/base/manifests/1"] == 4  # the first try and three retries
