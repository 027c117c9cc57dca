"""A registry (or whatever sits between us and it) sending what it should not: bounded, checked, one line."""

from __future__ import annotations

import pytest

from inspector.sources.registry_ref import parse_registry_ref

from .conftest import SAMPLE, Bed, Registry, Runner


def test_an_oversized_manifest_is_refused_before_it_is_read(bed: Bed, run: Runner, proxy) -> None:
    proxy.rewrite = lambda path, body: body + b" " * (5 << 20) if "/manifests/" in path else body
    run(f"registry:{bed.names['base']}").one_error(2, "test/base", "manifest 1", "4,194,304")


def test_a_truncated_layer(bed: Bed, run: Runner, proxy) -> None:
    layer = bed.layers["app"][2]
    proxy.rewrite = lambda path, body: body[: len(body) // 2] if path.endswith(layer) else body
    run(f"registry:{bed.names['app']}", "--files", "--no-cache").one_error(2, "layer 2")


def test_bytes_past_a_layers_size_are_never_read(bed: Bed, run: Runner, proxy) -> None:
    layer = bed.layers["app"][2]
    proxy.rewrite = lambda path, body: body + b"\0" * (1 << 20) if path.endswith(layer) else body
    result = run(f"registry:{bed.names['app']}", "--files", "--format", "json", "--no-cache")
    assert result.out == run(bed.archives["app"], "--files", "--format", "json").out


def test_a_layer_swapped_for_another_valid_layer(bed: Bed, run: Runner, proxy) -> None:
    """A mirror serving another genuine blob (right size or not) under a layer's digest: exit 3."""
    wanted, other = bed.layers["app"][2], bed.layers["app"][0]
    bodies: dict[str, bytes] = {}

    def swap(path: str, body: bytes) -> bytes:
        if path.endswith(other):
            bodies["other"] = body
        return bodies.get("other", body) if path.endswith(wanted) else body

    proxy.rewrite = swap
    run(f"registry:{bed.names['app']}", "--files", "--no-cache").one_error(3, "layer 2", wanted)


@pytest.mark.parametrize("text, expected", [
    ("debian", ("docker.io", "library/debian", None, None, "registry-1.docker.io")),
    ("debian:12", ("docker.io", "library/debian", "12", None, "registry-1.docker.io")),
    ("index.docker.io/user/app:1", ("docker.io", "user/app", "1", None, "registry-1.docker.io")),
    ("gcr.io/distroless/java21-debian12", ("gcr.io", "distroless/java21-debian12", None, None, "gcr.io")),
    ("localhost:5000/a/b@sha256:" + "a" * 64, ("localhost:5000", "a/b", None, "sha256:" + "a" * 64, "localhost:5000")),
    ("[::1]:5000/x:t", ("[::1]:5000", "x", "t", None, "[::1]:5000")),
])
def test_references_normalise_as_docker_does(text: str, expected: tuple) -> None:
    ref = parse_registry_ref(text)
    assert (ref.host, ref.repository, ref.tag, ref.digest, ref.api_host) == expected


@pytest.mark.parametrize("text", ["gcr.io/../etc", "gcr.io/a/b?x=1", "gcr.io/a/b:t/../c", "gcr.io/a%2Fb",
                                  "a/b@md5:abc", "a/b@sha256:" + "A" * 64, "a/b:" + "t" * 129, "a b", "gcr.io/a//b"])
def test_references_that_could_escape_a_url_path_are_refused(run: Runner, text: str) -> None:
    run(f"registry:{text}").one_error(2)


def test_tls_needs_the_ca_with_ca_cert(tmp_path_factory: pytest.TempPathFactory, run: Runner) -> None:
    registry = Registry(tmp_path_factory.mktemp("registry-tls"), tls=True).start()
    try:
        registry.push(f"docker-archive:{SAMPLE}", "tls/java:21")
        ref = f"registry:{registry.host}/tls/java:21"
        run(ref).one_error(2, registry.host, "certificate", "--ca-cert")
        result = run(ref, "--ca-cert", str(registry.ca), "--format", "json")
        assert result.json()["image"]["source"] == "registry"
    finally:
        registry.stop()
