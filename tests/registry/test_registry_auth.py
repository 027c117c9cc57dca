"""Authentication as users configured it: docker's config.json (auths, helpers), containers' auth.json,
Basic and Bearer; and no secret ever shows in what we print."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

from testdata.registry_bed import Proxy

from .conftest import SAMPLE, Runner, auths

SECRET = "s3cret-pw"


def _archive_files(run: Runner) -> str:
    return run(f"docker-archive:{SAMPLE}", "--files", "--format", "json").out


def test_basic_without_credentials_says_how_to_log_in(basic_registry, run: Runner) -> None:
    run(f"registry:{basic_registry.host}/private/java:21").one_error(
        2, basic_registry.host, "private/java", "authentication required", "docker login")


def test_basic_with_docker_config_auths(basic_registry, run: Runner) -> None:
    run.docker_config(auths(basic_registry.host, basic_registry.user, basic_registry.password))
    result = run(f"registry:{basic_registry.host}/private/java:21", "--files", "--format", "json")
    assert result.code == 0, result.err
    assert result.out == _archive_files(run)


def test_basic_with_a_wrong_password(basic_registry, run: Runner) -> None:
    run.docker_config(auths(basic_registry.host, basic_registry.user, "wrong-" + SECRET))
    line = run(f"registry:{basic_registry.host}/private/java:21").one_error(
        2, basic_registry.host, "private/java", "authentication failed", "401")
    assert SECRET not in line


def test_basic_from_registry_auth_file(basic_registry, run: Runner, tmp_path: Path) -> None:
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps(auths(basic_registry.host, basic_registry.user, basic_registry.password)))
    result = run(f"registry:{basic_registry.host}/private/java:21", env={"REGISTRY_AUTH_FILE": str(auth_file)})
    assert result.code == 0, result.err


def test_basic_from_a_credential_helper(basic_registry, run: Runner, tmp_path: Path) -> None:
    helper_dir = tmp_path / "bin"
    helper_dir.mkdir()
    helper = helper_dir / "docker-credential-testhelper"
    helper.write_text(f"#!/bin/sh\nread server\n[ \"$1\" = get ] || exit 1\n"
                      f"[ \"$server\" = \"{basic_registry.host}\" ] || "
                      "{ echo 'credentials not found in native keychain'; exit 1; }\n"
                      f"echo '{{\"ServerURL\":\"{basic_registry.host}\",\"Username\":\"{basic_registry.user}\","
                      f"\"Secret\":\"{basic_registry.password}\"}}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    run.docker_config({"credHelpers": {basic_registry.host: "testhelper"}})
    path = f"{helper_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    result = run(f"registry:{basic_registry.host}/private/java:21", env={"PATH": path})
    assert result.code == 0, result.err


def test_a_configured_helper_that_is_missing(basic_registry, run: Runner) -> None:
    run.docker_config({"credsStore": "nosuchhelper"})
    run(f"registry:{basic_registry.host}/private/java:21").one_error(2, "docker-credential-nosuchhelper")


def test_bearer_with_credentials(token_bed, run: Runner) -> None:
    registry, tokens = token_bed
    run.docker_config(auths(registry.host, registry.user, registry.password))
    before = len(tokens.requests)
    result = run(f"registry:{registry.host}/private/java:21", "--files", "--format", "json", "--no-cache")
    assert result.code == 0, result.err
    assert result.out == _archive_files(run)
    asked = tokens.requests[before:]
    assert len(asked) == 1, asked  # one token for the scope, reused for the manifest, config and every layer
    assert "scope=repository%3Aprivate%2Fjava%3Apull" in asked[0]


def test_bearer_anonymous_is_refused(token_bed, run: Runner) -> None:
    registry, _ = token_bed
    line = run(f"registry:{registry.host}/private/java:21").one_error(2, registry.host, "private/java", "401")
    assert "anonymous" in line


def test_bearer_with_a_wrong_password(token_bed, run: Runner) -> None:
    registry, _ = token_bed
    run.docker_config(auths(registry.host, registry.user, "wrong-" + SECRET))
    line = run(f"registry:{registry.host}/private/java:21").one_error(2, "token server", "401", "private/java")
    assert SECRET not in line


def test_bearer_with_an_expired_token(token_bed, run: Runner) -> None:
    registry, tokens = token_bed
    run.docker_config(auths(registry.host, registry.user, registry.password))
    tokens.expired = True
    try:
        line = run(f"registry:{registry.host}/private/java:21").one_error(2, registry.host, "authentication failed",
                                                                          "401")
    finally:
        tokens.expired = False
    assert "Bearer" not in line and "eyJ" not in line  # no token in the message


def test_no_secret_in_json_or_errors(token_bed, run: Runner) -> None:
    registry, _ = token_bed
    run.docker_config(auths(registry.host, registry.user, registry.password))
    result = run(f"registry:{registry.host}/private/java:21", "--format", "json")
    assert result.code == 0, result.err
    assert registry.password not in result.out + result.err
    assert "eyJ" not in result.out + result.err


def test_a_redirect_to_another_host_drops_the_authorization(basic_registry, run: Runner) -> None:
    """Registries send blob downloads to their storage with a 307; our credentials stay with the registry."""
    front = Proxy(basic_registry.port).start()
    storage = Proxy(basic_registry.port).start()  # another port: another host, which signs its own URLs
    try:
        storage.upstream_authorization = "Basic " + base64.b64encode(basic_registry.creds().encode()).decode()
        front.redirect_blobs = f"http://{storage.host}"
        run.docker_config(auths(front.host, basic_registry.user, basic_registry.password))
        result = run(f"registry:{front.host}/private/java:21", "--files", "--format", "json")
        assert result.code == 0, result.err
        assert result.out == _archive_files(run)
        assert storage.blob_gets() > 0
        assert storage.authorizations and not any(storage.authorizations)
        assert any(front.authorizations)
    finally:
        front.stop()
        storage.stop()


def test_bearer_from_an_identity_token(token_bed, run: Runner) -> None:
    """config.json's ``identitytoken`` is an OAuth2 refresh token: POSTed to the realm for an access token."""
    registry, tokens = token_bed
    run.docker_config({"auths": {registry.host: {"auth": base64.b64encode(b"<token>:").decode(),
                                                 "identitytoken": tokens.identity_token}}})
    before = len(tokens.requests)
    result = run(f"registry:{registry.host}/private/java:21", "--format", "json")
    assert result.code == 0, result.err
    assert tokens.requests[before:] == ["POST client_id grant_type refresh_token scope service"]
    assert tokens.identity_token not in result.out + result.err


def test_a_token_that_would_break_out_of_its_header(token_bed, run: Runner) -> None:
    registry, tokens = token_bed
    run.docker_config(auths(registry.host, registry.user, registry.password))
    tokens.token_override = "abc\r\nX-Injected: 1"
    try:
        run(f"registry:{registry.host}/private/java:21").one_error(2, registry.host, "token", "header")
    finally:
        tokens.token_override = None
