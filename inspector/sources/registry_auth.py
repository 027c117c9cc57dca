"""Registry credentials, found where users already put them (``docker login``, ``podman login``).

The order is go-containerregistry's default keychain: ``$DOCKER_CONFIG/config.json`` (or
``~/.docker/config.json``): a ``credHelpers`` entry for the host, else ``credsStore``, else the
``auths`` entry (``auth`` = base64 ``user:password``, or ``identitytoken``); then containers'
``$REGISTRY_AUTH_FILE``, ``$XDG_RUNTIME_DIR/containers/auth.json``, ``~/.config/containers/auth.json``.
A helper is run as ``docker-credential-NAME get`` with the server on stdin, as docker runs it.

Secrets stay in ``Credentials`` (whose repr hides them) and go only into Authorization headers:
no error message here quotes a file's content or a helper's output.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InspectorError
from .registry_ref import DOCKER_HUB_AUTH_KEY, HUB_ALIASES

MAX_FILE = 1 << 20  # a credentials file or helper answer larger than this is not one
HELPER_TIMEOUT = 30.0
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


class CredentialsError(InspectorError):
    """Credentials are configured but cannot be read (an unreadable file, a failing helper)."""


@dataclass(frozen=True)
class Credentials:
    """What to authenticate with; the secrets are kept out of ``repr``."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)  # an OAuth2 refresh token
    registry_token: str | None = field(default=None, repr=False)  # a bearer token to send as is
    origin: str = ""  # where they came from, for messages: "~/.docker/config.json", "docker-credential-pass"

    def basic(self) -> str | None:
        """The Basic Authorization value, if a user name and password are known."""
        if self.username is None or self.password is None:
            return None
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def find_credentials(host: str) -> Credentials | None:
    """Credentials for registry ``host`` (as typed: ``docker.io`` for Docker Hub), or None: anonymous."""
    keys = _keys(host)
    found = _from_docker_config(keys)
    if found is not None:
        return found
    for path in _containers_auth_files():
        found = _from_auths(_read_json(path), keys, str(path))
        if found is not None:
            return found
    return None


def _keys(host: str) -> list[str]:
    """The spellings a config file may use for ``host``, normalised as ``_normalise`` leaves them."""
    if host in HUB_ALIASES:
        return [_normalise(DOCKER_HUB_AUTH_KEY), "docker.io", "registry-1.docker.io"]
    return [host]


def _normalise(key: str) -> str:
    """``https://index.docker.io/v1/`` → ``index.docker.io``: config keys may be URLs."""
    key = key.strip()
    for prefix in ("https://", "http://"):
        key = key.removeprefix(prefix)
    return key.split("/", 1)[0].lower()


def _docker_config_path() -> Path:
    directory = os.environ.get("DOCKER_CONFIG")
    return Path(directory) / "config.json" if directory else Path.home() / ".docker" / "config.json"


def _from_docker_config(keys: list[str]) -> Credentials | None:
    path = _docker_config_path()
    config = _read_json(path)
    if config is None:
        return None
    helpers = config.get("credHelpers")
    if not isinstance(helpers, dict):
        helpers = {}
    helper = next((v for k, v in helpers.items() if isinstance(k, str) and _normalise(k) in keys), None)
    if helper is None and isinstance(config.get("credsStore"), str) and config["credsStore"]:
        helper = config["credsStore"]
    if isinstance(helper, str) and helper:
        return _from_helper(helper, keys)
    return _from_auths(config, keys, str(path))


def _from_auths(config: dict[str, Any] | None, keys: list[str], origin: str) -> Credentials | None:
    auths = config.get("auths") if config is not None else None
    if not isinstance(auths, dict):
        return None
    for key in keys:  # the most specific spelling first
        for name, entry in auths.items():
            if isinstance(name, str) and _normalise(name) == key and isinstance(entry, dict):
                found = _from_entry(entry, origin)
                if found is not None:
                    return found
    return None


def _from_entry(entry: dict[str, Any], origin: str) -> Credentials | None:
    identity = entry.get("identitytoken")
    registry_token = entry.get("registrytoken")
    username, password = entry.get("username"), entry.get("password")
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            username, _, password = base64.b64decode(auth, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise CredentialsError(f"{origin}: an 'auth' entry is not base64 of user:password") from None
    if isinstance(identity, str) and identity:
        return Credentials(username if isinstance(username, str) else None, None, identity, None, origin)
    if isinstance(registry_token, str) and registry_token:
        return Credentials(None, None, None, registry_token, origin)
    if isinstance(username, str) and username and isinstance(password, str):
        return Credentials(username, password, None, None, origin)
    return None


def _from_helper(helper: str, keys: list[str]) -> Credentials | None:
    """Ask ``docker-credential-HELPER get``; a "not found" answer means anonymous."""
    program = f"docker-credential-{helper}"
    if not _HELPER_NAME.match(helper):
        raise CredentialsError(f"{_docker_config_path()}: credential helper name {helper[:40]!r} is not valid")
    server = DOCKER_HUB_AUTH_KEY if keys[0] == _normalise(DOCKER_HUB_AUTH_KEY) else keys[0]
    try:
        done = subprocess.run([program, "get"], input=server.encode(), capture_output=True,
                              timeout=HELPER_TIMEOUT, check=False)
    except FileNotFoundError:
        raise CredentialsError(f"the credential helper {program} named in {_docker_config_path()} "
                               "is not installed (on PATH)") from None
    except subprocess.TimeoutExpired:
        raise CredentialsError(f"the credential helper {program} gave no answer in {HELPER_TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise CredentialsError(f"the credential helper {program} cannot be run: {exc.strerror}") from None
    if done.returncode != 0:
        if b"credentials not found" in (done.stdout + done.stderr).lower():
            return None
        raise CredentialsError(f"the credential helper {program} failed (exit {done.returncode}) for {server}")
    try:
        answer = json.loads(done.stdout[:MAX_FILE])
    except ValueError:
        raise CredentialsError(f"the credential helper {program} answered something that is not JSON") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("Secret"), str):
        raise CredentialsError(f"the credential helper {program} answered without a Secret")
    username = answer.get("Username") if isinstance(answer.get("Username"), str) else None
    if username == "<token>":
        return Credentials(None, None, answer["Secret"], None, program)
    if not username:
        return None
    return Credentials(username, answer["Secret"], None, None, program)


def _containers_auth_files() -> list[Path]:
    paths = []
    if os.environ.get("REGISTRY_AUTH_FILE"):
        paths.append(Path(os.environ["REGISTRY_AUTH_FILE"]))
    if os.environ.get("XDG_RUNTIME_DIR"):
        paths.append(Path(os.environ["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    paths.append(Path.home() / ".config" / "containers" / "auth.json")
    return paths


def _read_json(path: Path) -> dict[str, Any] | None:
    """A credentials file as a JSON object; None when there is no such file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE + 1)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return None
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_FILE:
        raise CredentialsError(f"{path} is larger than {MAX_FILE} bytes: not a credentials file")
    try:
        document = json.loads(data)
    except ValueError:
        raise CredentialsError(f"{path} is not valid JSON") from None
    return document if isinstance(document, dict) else None
