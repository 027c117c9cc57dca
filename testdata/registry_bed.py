"""A registry test bed on 127.0.0.1: Debian's ``docker-registry``, a token server, a counting proxy.

Why real servers: the registry source's whole job is to talk to registries, and the distribution
server is the reference implementation (Docker Hub, GHCR and Harbor are compatible with it). So the
tests start ``docker-registry serve`` on a free port (anonymous, htpasswd Basic, or Bearer tokens),
push images into it with ``skopeo copy`` from layouts written by ``imagebuilder``, and stop it by
its own pid. Two small servers are written here because no packaged one fits:

* ``TokenServer``: the registry's ``auth.token`` realm. It checks Basic credentials (or, POSTed, an
  OAuth2 refresh token: ``identity_token``, as ``docker login`` stores for some registries) and answers an
  RS256 JWT signed with a throwaway key by ``openssl dgst -sign``, carrying the self-signed
  certificate in ``x5c`` (the registry trusts it through ``rootcertbundle``). ``expired = True``
  makes it hand out tokens that expired an hour ago.
* ``Proxy``: forwards every request to a registry and counts them by path; ``flip_blob`` flips one
  byte of one blob in transit and ``lie_about_manifests`` changes a byte of every manifest while
  keeping the registry's ``Docker-Content-Digest`` (or of one manifest, named by digest): what a
  hostile or broken mirror would do. ``fail`` answers the next requests with given statuses (429,
  503), ``redirect_blobs`` sends blob downloads elsewhere with a 307, as registries send them to
  their storage, and ``authorizations`` records what each request carried.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

TOOLS = ("docker-registry", "skopeo", "htpasswd", "openssl")


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen[bytes] | None, log: Path | None, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}): {log.read_text()[-2000:] if log else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Registry:
    """``docker-registry serve`` on 127.0.0.1:PORT, storage in ``root``; auth: None, "basic" or a TokenServer."""

    def __init__(self, root: Path, auth: Any = None, user: str = "alice", password: str = "s3cret-pw",
                 tls: bool = False) -> None:
        self.root = root
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.user, self.password = user, password
        self.auth = auth
        root.mkdir(parents=True, exist_ok=True)
        self.log = root / "registry.log"
        config = [
            "version: 0.1",
            "log: {level: info, accesslog: {disabled: false}}",
            f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}",
            f"http: {{addr: '{self.host}'}}",
        ]
        self.ca: Path | None = None
        if tls:  # a self-signed certificate for 127.0.0.1, which is its own CA
            self.ca = root / "registry.pem"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                            str(root / "registry.key"), "-out", str(self.ca), "-subj", "/CN=127.0.0.1", "-days", "2",
                            "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
            config[-1] = (f"http: {{addr: '{self.host}', tls: {{certificate: {self.ca}, "
                          f"key: {root / 'registry.key'}}}}}")
        if auth == "basic":
            hashed = subprocess.run(["htpasswd", "-Bbn", user, password], check=True, capture_output=True).stdout
            (root / "htpasswd").write_bytes(hashed)
            config.append(f"auth: {{htpasswd: {{realm: test-basic, path: {root / 'htpasswd'}}}}}")
        elif isinstance(auth, TokenServer):
            config.append(f"auth: {{token: {{realm: '{auth.realm}', service: {auth.service}, issuer: {auth.issuer}, "
                          f"rootcertbundle: {auth.cert}}}}}")
        (root / "config.yml").write_text("\n".join(config) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Registry:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["docker-registry", "serve", str(self.root / "config.yml")],
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for_port(self.port, self.proc, self.log)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def creds(self) -> str:
        return f"{self.user}:{self.password}"

    def push(self, source: str, name: str, all_platforms: bool = False) -> str:
        """``skopeo copy SOURCE docker://HOST/NAME``; returns ``HOST/NAME``."""
        command = ["skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false"]
        if self.auth is not None:
            command.append(f"--dest-creds={self.creds()}")
        if all_platforms:
            command.append("--all")
        target = f"{self.host}/{name}"
        subprocess.run([*command, source, f"docker://{target}"], check=True, capture_output=True, timeout=120)
        return target


class _Quiet(http.server.ThreadingHTTPServer):
    daemon_threads = True


class TokenServer:
    """A Bearer token realm for one registry: Basic credentials in, a signed JWT out."""

    def __init__(self, root: Path, user: str = "alice", password: str = "s3cret-pw") -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.key, self.cert = root / "token.key", root / "token.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(self.key),
                        "-out", str(self.cert), "-subj", "/CN=test-token-issuer", "-days", "2"],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", str(self.cert), "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.service, self.issuer = "test-registry", "test-issuer"
        self.user, self.password = user, password
        self.expired = False
        self.identity_token = "refresh-" + base64.urlsafe_b64encode(os.urandom(9)).decode()
        self.token_override: str | None = None  # hand out this instead of a signed token (hostile tests)
        self.requests: list[str] = []  # "GET /token?…" (for tests: one token per scope)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(self.path)
                expected = "Basic " + base64.b64encode(f"{server.user}:{server.password}".encode()).decode()
                given = self.headers.get("Authorization")
                if given is not None and given != expected:
                    self._refuse()
                    return
                self._grant(urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query), given is not None)

            def do_POST(self) -> None:  # OAuth2 refresh-token grant (an identitytoken in config.json)
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(min(length, 1 << 16)).decode())
                server.requests.append("POST " + " ".join(sorted(form)))
                if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [server.identity_token]:
                    self._refuse()
                    return
                self._grant(form, True)

            def _refuse(self) -> None:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _grant(self, params: dict[str, list[str]], known: bool) -> None:
                access = []
                for scope in params.get("scope", []) if known else []:  # anonymous: no access
                    kind, _, rest = scope.partition(":")
                    name, _, actions = rest.rpartition(":")
                    access.append({"type": kind, "name": name, "actions": actions.split(",")})
                token = server.token_override or server.sign(server.user if known else "", access,
                                                             params.get("service", [""])[0])
                body = json.dumps({"access_token" if "grant_type" in params else "token": token,
                                   "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.port = free_port()
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self._server = _Quiet(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> TokenServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def sign(self, subject: str, access: list[dict[str, Any]], audience: str) -> str:
        now = int(time.time())
        start, end = (now - 7200, now - 3600) if self.expired else (now - 10, now + 300)
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": self.issuer, "sub": subject, "aud": audience or self.service, "exp": end, "nbf": start,
                  "iat": start, "jti": base64.urlsafe_b64encode(os.urandom(12)).decode(), "access": access}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)],
                                   input=signing_input.encode(), check=True, capture_output=True).stdout
        return f"{signing_input}.{_b64url(signature)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Proxy:
    """A plain-HTTP forwarding proxy in front of a registry that counts and may corrupt what passes."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.counts: Counter[str] = Counter()  # "GET /v2/…" -> times asked
        self.flip_blob: str | None = None  # digest of a blob to damage (one byte flipped in its middle)
        self.lie_about_manifests: bool | str = False  # True: every manifest; a digest: that one only
        self.fail: list[int] = []  # statuses to answer, one per request, before forwarding again
        self.redirect_blobs: str | None = None  # "http://HOST:PORT": answer blob GETs with a 307 there
        self.rewrite: Any = None  # (path, body) -> body: any other change to what the registry sent
        self.upstream_authorization: str | None = None  # sent upstream instead of the client's (a "signed URL")
        self.authorizations: list[str | None] = []  # the Authorization header of each request received
        self.delay_blobs = 0.0  # seconds each blob answer waits before it is sent (downloads then overlap or not)
        self.most_blobs_at_once = 0  # the most blob GETs being answered at the same moment
        self._blobs_now = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in {**headers, "Content-Length": "0"}.items():
                    self.send_header(key, value)
                self.end_headers()

            def _forward(self, method: str) -> None:
                blob = method == "GET" and "/blobs/" in self.path
                if blob:
                    with proxy._lock:
                        proxy._blobs_now += 1
                        proxy.most_blobs_at_once = max(proxy.most_blobs_at_once, proxy._blobs_now)
                try:
                    self._answer_forwarded(method, blob)
                finally:
                    if blob:
                        with proxy._lock:
                            proxy._blobs_now -= 1

            def _answer_forwarded(self, method: str, blob: bool) -> None:
                proxy.counts[f"{method} {self.path}"] += 1
                proxy.authorizations.append(self.headers.get("Authorization"))
                if proxy.fail:
                    self._answer(proxy.fail.pop(0), {"Retry-After": "0"})
                    return
                if proxy.redirect_blobs and "/blobs/" in self.path:
                    self._answer(307, {"Location": proxy.redirect_blobs + self.path})
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                if proxy.upstream_authorization:
                    headers["Authorization"] = proxy.upstream_authorization
                conn.request(method, self.path, headers=headers)
                answer = conn.getresponse()
                body = answer.read()
                conn.close()
                if proxy.flip_blob and self.path.endswith(f"/blobs/{proxy.flip_blob}") and body:
                    middle = len(body) // 2
                    body = body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1:]
                if proxy.rewrite is not None:
                    body = proxy.rewrite(self.path, body)
                if blob and proxy.delay_blobs:
                    time.sleep(proxy.delay_blobs)
                lie = proxy.lie_about_manifests
                if lie and "/manifests/" in self.path and body and (lie is True or self.path.endswith(f"/{lie}")):
                    body = body.rstrip() + b" \n"
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(body)

            def do_GET(self) -> None:
                self._forward("GET")

            def do_HEAD(self) -> None:
                self._forward("HEAD")

        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self._server = _Quiet(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Proxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def blob_gets(self, digests: set[str] | None = None) -> int:
        """How many blob downloads were asked for (of ``digests`` only, when given)."""
        return sum(n for key, n in self.counts.items() if key.startswith("GET ") and "/blobs/" in key
                   and (digests is None or key.rsplit("/", 1)[-1] in digests))

    def reset(self) -> None:
        self.counts.clear()
        self.authorizations.clear()
        self.most_blobs_at_once = 0

    def honest(self) -> None:
        """Forward everything unchanged again."""
        self.flip_blob, self.lie_about_manifests, self.fail = None, False, []
        self.redirect_blobs = self.upstream_authorization = self.rewrite = None
        self.delay_blobs = 0.0
