"""The OCI distribution API over the standard library's ``http.client`` and ``ssl``.

Why not ``requests``: it is installed only as a dependency of the docker SDK, whose import we keep
off every hot path (see ``engine_socket``), and what a registry needs is small: GET with an Accept
header, redirects, a 401 challenge, a token, a streamed body. Owning it also lets us enforce what
``requests`` would not: the Authorization header never follows a redirect to another host, plain
HTTP only for loopback hosts and ``--insecure-registry`` ones, every document read with a byte cap,
and 429/5xx retried a bounded number of times with backoff.

Every failure is one ``RegistryError`` line naming the registry, the repository, what was asked
and the HTTP status; no line quotes a credential, a token or an Authorization header.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse
from email.message import Message
from typing import Any

from .. import __version__
from ..errors import InspectorError
from . import registry_stalls
from .registry_auth import Credentials, find_credentials
from .registry_ref import RegistryOptions, RegistryRef

RETRIES = 3  # for 429 and 5xx answers and dropped idle connections
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF = 0.5  # seconds before the first retry; doubled each time
MAX_RETRY_AFTER = 10.0
MAX_REDIRECTS = 5
MAX_ERROR_BODY = 64 << 10
MAX_TOKEN_ANSWER = 1 << 20
MAX_TOKEN = 64 << 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHALLENGE_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)')
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~+/=-]+\Z")


class RegistryError(InspectorError):
    """The registry could not be reached, refused, or answered something we cannot use."""


def plain_http_allowed(netloc: str, options: RegistryOptions) -> bool:
    """Loopback hosts (as docker treats 127.0.0.0/8) and hosts named with --insecure-registry."""
    return netloc in options.insecure or _hostname(netloc) in options.insecure or is_loopback(netloc)


def is_loopback(netloc: str) -> bool:
    host = _hostname(netloc)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hostname(netloc: str) -> str:
    if netloc.startswith("["):
        return netloc[1:netloc.find("]")] if "]" in netloc else netloc
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


def _split_netloc(netloc: str) -> tuple[str, int | None]:
    host = _hostname(netloc)
    rest = netloc[netloc.find("]") + 1:] if netloc.startswith("[") else netloc[len(host):]
    return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None


class Deadline:
    """Shuts a connection's socket down once ``seconds`` have passed, so that a read blocked on it
    returns (an error, or a short body) and the caller, seeing ``fired``, reports it. Per read, the
    socket's own timeout only catches silence: a hostile registry sending one byte just before
    each timeout would hold an answer's headers, or a bounded body, open for ever. Watched by
    ``registry_stalls``' one thread, as layer downloads are (no timer thread per request)."""

    def __init__(self, conn: http.client.HTTPConnection, seconds: float) -> None:
        self.fired = False
        self._conn = conn
        self._until = 0.0
        self._seconds = seconds
        self._done = False

    def __enter__(self) -> Deadline:
        self._until = time.monotonic() + self._seconds
        registry_stalls.watch(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._done = True  # the monitor may hold it in this round's list: it must not fire now
        registry_stalls.forget(self)

    def stalled(self, now: float) -> None:
        if now > self._until and not self._done and not self.fired:
            self.fired = True
            _shutdown(self._conn)


def _shutdown(conn: http.client.HTTPConnection) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


class Response:
    """One answer; its body is read at most once, then the connection is kept or closed."""

    def __init__(self, raw: http.client.HTTPResponse, conn: http.client.HTTPConnection, keep: bool,
                 url: str, options: RegistryOptions | None = None) -> None:
        self.raw = raw
        self.status = raw.status
        self.headers: Message = raw.headers
        self.url = url
        self.options = options or RegistryOptions()
        self._conn = conn
        self._keep = keep  # the client's pooled connection: keep it if the body was read whole
        self._released = False

    def read_bounded(self, limit: int) -> tuple[bytes, bool]:
        """At most ``limit`` bytes of the body, within the deadline: (the bytes, whether the deadline
        cut the read short: then they are not the body, and the connection is closed)."""
        deadline = Deadline(self._conn, self.options.deadline)
        try:
            with deadline:
                data = self.raw.read(limit)
        except (OSError, http.client.HTTPException):
            if not deadline.fired:
                raise
            data = b""
        if deadline.fired:
            self.release(complete=False)
        return data, deadline.fired

    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return int(value) if value is not None and value.strip().isdigit() else None

    def read_capped(self, limit: int, what: str, error: Any) -> bytes:
        """The whole body, refused (``error(message)``) beyond ``limit`` bytes."""
        length = self.content_length()
        if length is not None and length > limit:
            self.release(complete=False)
            raise error(f"{what} is {length:,} bytes, more than the {limit:,} allowed")
        try:
            data, late = self.read_bounded(limit + 1)
        except (OSError, http.client.HTTPException) as exc:
            self.release(complete=False)
            raise error(f"the connection broke off while reading {what}: {_reason(exc)}") from None
        if late:
            raise error(f"{what} took more than {self.options.deadline:g} s to arrive")
        if len(data) > limit:
            self.release(complete=False)
            raise error(f"{what} is more than the {limit:,} bytes allowed")
        self.release(complete=True)
        return data

    def abort(self) -> None:
        """From another thread: make a read blocked on this body return at once (an error or the end);
        the reader then fails and closes the connection."""
        _shutdown(self._conn)

    def release(self, complete: bool | None = None) -> None:
        """Give the connection back (body read to its end) or close it (anything else)."""
        if self._released:
            return
        self._released = True
        if complete is None:
            complete = self.raw.isclosed()
        if not (complete and self._keep):
            self.raw.close()
            self._conn.close()


class RegistryClient:
    """Talks to one repository of one registry, with one kept-alive connection to it."""

    def __init__(self, ref: RegistryRef, options: RegistryOptions | None = None) -> None:
        self.ref = ref
        self.options = options or RegistryOptions()
        self.netloc = ref.api_host
        self._scheme: str | None = None  # decided by the first request
        self._conns: dict[int, http.client.HTTPConnection] = {}  # one kept-alive connection per thread
        self._lock = threading.RLock()  # the token and the answer count, shared by the threads
        self._authorization: str | None = None
        self._expires = float("inf")
        self._bearer: tuple[str, str, str] | None = None  # realm, service, scope of the current token
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._credentials: Credentials | None = None
        self._credentials_read = False
        self._ssl: ssl.SSLContext | None = None
        self.requests = 0  # answers received, redirects and retries included (for tests and progress)

    @property
    def _conn(self) -> http.client.HTTPConnection | None:
        """This thread's kept-alive connection: two layers may download at once (``registry``)."""
        return self._conns.get(threading.get_ident())

    @_conn.setter
    def _conn(self, conn: http.client.HTTPConnection | None) -> None:
        with self._lock:
            if conn is None:
                self._conns.pop(threading.get_ident(), None)
            else:
                self._conns[threading.get_ident()] = conn

    # --- the API ----------------------------------------------------------------------------
    def get(self, path: str, what: str, accept: str | None = None) -> Response:
        """GET ``/v2/<repository>/<path>``: a 200 answer after auth, redirects and retries, or an error."""
        return self.get_v2(f"{self.ref.repository}/{path}", what, accept)

    def get_v2(self, endpoint: str, what: str, accept: str | None = None) -> Response:
        """GET ``/v2/<endpoint>``, as ``get``: also the endpoints outside a repository (``_catalog``)."""
        reauthenticated = False
        attempt = 0
        while True:
            with self._lock:
                if self._bearer is not None and time.monotonic() >= self._expires:
                    self._use_token(*self._bearer, fresh=True)
            response = self._follow(f"/v2/{endpoint}", accept, what)
            if response.status == 401 and response.url.startswith(self._base()) and not reauthenticated:
                challenges = response.headers.get_all("WWW-Authenticate") or []
                response.release(complete=self._discard(response))
                with self._lock:
                    self._authenticate(challenges, what)
                reauthenticated = True
                continue
            if response.status in RETRY_STATUSES and attempt < RETRIES:
                delay = _retry_delay(response, attempt)
                response.release(complete=self._discard(response))
                time.sleep(delay)
                attempt += 1
                continue
            if response.status == 200:
                return response
            raise self._status_error(response, what, retried=attempt)

    def error(self, message: str) -> RegistryError:
        return RegistryError(f"registry {self.netloc}: repository {self.ref.repository}: {message}")

    def close(self) -> None:
        with self._lock:
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            conn.close()

    # --- connections -----------------------------------------------------------------------
    def _base(self) -> str:
        if self._scheme is None:
            self._scheme = self._pick_scheme()
        return f"{self._scheme}://{self.netloc}"

    def _pick_scheme(self) -> str:
        """HTTPS, unless the host may use plain HTTP and does not speak TLS (as docker tries both).

        A loopback host is asked in plain HTTP first: nothing crosses a network, and a TLS handshake
        sent to a plain server waits ~0.2 s for an answer that never comes (a TLS server answers
        plain HTTP at once, with a 400). Other ``--insecure-registry`` hosts are tried with TLS
        first, as docker does, so that credentials travel in clear only when TLS is not spoken.
        """
        if not plain_http_allowed(self.netloc, self.options):
            return "https"
        if is_loopback(self.netloc):
            return "https" if self._speaks_tls_only() else "http"
        conn = self._connect("https", self.netloc)
        try:
            conn.connect()
        except ssl.SSLCertVerificationError:
            return "https"  # it speaks TLS: the request will report the certificate problem
        except (TimeoutError, ssl.SSLError, ConnectionResetError, http.client.HTTPException):
            return "http"
        except OSError:
            return "https"  # unreachable: the request will say so
        finally:
            conn.close()
        return "https"

    def _speaks_tls_only(self) -> bool:
        """Ask ``/v2/`` in plain HTTP (no credentials): does the server answer that it wants TLS?"""
        self._scheme = "http"
        try:
            response = self._send("GET", f"http://{self.netloc}/v2/", {"User-Agent": f"inspect-image/{__version__}"})
        except RegistryError:
            self._scheme = None
            return False  # unreachable: the request itself will say so
        try:
            body, _late = response.read_bounded(MAX_ERROR_BODY)
        except (OSError, http.client.HTTPException):
            body = b""
        response.release(complete=response.raw.isclosed())
        self._scheme = None
        if response.status == 400 and b"HTTPS" in body:
            self.close()
            return True
        return False

    def _connect(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        host, port = _split_netloc(netloc)
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self.options.timeout, context=self._context())
        return http.client.HTTPConnection(host, port, timeout=self.options.timeout)

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            context = ssl.create_default_context()
            if self.options.ca_cert:
                try:
                    context.load_verify_locations(cafile=self.options.ca_cert)
                except (OSError, ssl.SSLError) as exc:
                    raise RegistryError(f"--ca-cert {self.options.ca_cert}: cannot load it as PEM "
                                        f"certificates: {_reason(exc)}") from None
            self._ssl = context
        return self._ssl

    def _send(self, method: str, url: str, headers: dict[str, str], body: bytes | None = None) -> Response:
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        pooled = parts.scheme == self._scheme and parts.netloc == self.netloc
        for attempt in range(2):
            reused = pooled and self._conn is not None
            if pooled:
                if self._conn is None:
                    self._conn = self._connect(parts.scheme, parts.netloc)
                conn = self._conn
            else:
                conn = self._connect(parts.scheme, parts.netloc)
            deadline = Deadline(conn, self.options.deadline)
            try:
                with deadline:
                    conn.request(method, target, body=body, headers=headers)
                    raw = conn.getresponse()
                if deadline.fired:  # the headers came just in time, but the socket is shut: unusable
                    raw.close()
                    raise ConnectionAbortedError("no complete answer in time")
            except ssl.SSLCertVerificationError as exc:
                conn.close()
                raise RegistryError(f"registry {parts.netloc}: its TLS certificate is not trusted "
                                    f"({exc.verify_message}); name the CA that signed it with --ca-cert FILE") from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if pooled:
                    self._conn = None
                if deadline.fired:
                    raise self.error(f"{parts.netloc} took more than {self.options.deadline:g} s to answer") from None
                if reused and attempt == 0 and isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError,
                                                                 BrokenPipeError)):
                    continue  # the server closed our idle kept-alive connection: one fresh try
                if parts.netloc == self.netloc:
                    raise self.error(f"cannot connect: {_reason(exc)}") from None
                raise self.error(f"cannot connect to {parts.netloc}: {_reason(exc)}") from None
            with self._lock:
                self.requests += 1
            return Response(raw, conn, pooled, url, self.options)
        raise AssertionError("unreachable")

    def _follow(self, path: str, accept: str | None, what: str) -> Response:
        """GET ``path`` on the registry, following redirects; Authorization only to the registry's host."""
        url = self._base() + path
        for _ in range(MAX_REDIRECTS + 1):
            parts = urllib.parse.urlsplit(url)
            headers = {"User-Agent": f"inspect-image/{__version__}", "Accept-Encoding": "identity"}
            if accept:
                headers["Accept"] = accept
            if self._authorization and parts.netloc == self.netloc:
                headers["Authorization"] = self._authorization
            response = self._send("GET", url, headers)
            if response.status not in _REDIRECTS:
                return response
            location = response.headers.get("Location")
            response.release(complete=self._discard(response))
            if not location:
                raise self.error(f"{what}: redirected (HTTP {response.status}) without a Location")
            url = urllib.parse.urljoin(url, location)
            target = urllib.parse.urlsplit(url)
            if target.scheme not in ("http", "https") or not target.netloc:
                raise self.error(f"{what}: redirected to something that is not an http(s) URL")
            if (target.scheme == "http" and parts.scheme == "https"
                    and not plain_http_allowed(target.netloc, self.options)):
                raise self.error(f"{what}: redirected from HTTPS to plain HTTP at {target.netloc}; refused")
        raise self.error(f"{what}: more than {MAX_REDIRECTS} redirects")

    @staticmethod
    def _discard(response: Response) -> bool:
        """Read a small unwanted body to its end so the connection can be reused."""
        try:
            length = response.content_length()
            if length is not None and length <= MAX_ERROR_BODY:
                data, late = response.read_bounded(length)
                return not late and len(data) == length
        except (OSError, http.client.HTTPException):
            pass
        return False

    # --- authentication ----------------------------------------------------------------------
    def _authenticate(self, headers: list[str], what: str) -> None:
        challenges = parse_challenges(headers)
        credentials = self._creds()
        if "bearer" in challenges:
            params = challenges["bearer"]
            realm = params.get("realm")
            if not realm:
                raise self.error(f"{what}: the registry asks for a token but names no realm to get it from")
            if credentials is not None and credentials.registry_token:
                self._authorization = "Bearer " + _header_safe(credentials.registry_token, self)
                return
            scope = params.get("scope") or f"repository:{self.ref.repository}:pull"
            self._use_token(realm, params.get("service", ""), scope, fresh=self._bearer is not None)
        elif "basic" in challenges:
            basic = credentials.basic() if credentials is not None else None
            if basic is None:
                raise self.error(f"{what}: authentication required (HTTP 401), and no credentials for "
                                 f"{self.ref.host} were found (docker login {self.ref.host}, or ~/.docker/config.json)")
            self._authorization = basic
        else:
            raise self.error(f"{what}: authentication required (HTTP 401) with a scheme we do not speak")

    def _use_token(self, realm: str, service: str, scope: str, fresh: bool) -> None:
        key = (realm, service, scope)
        cached = self._tokens.get(key)
        if fresh or cached is None or time.monotonic() >= cached[1]:
            cached = self._fetch_token(realm, service, scope)
            self._tokens[key] = cached
        self._authorization = "Bearer " + cached[0]
        self._bearer, self._expires = key, cached[1]

    def _fetch_token(self, realm: str, service: str, scope: str) -> tuple[str, float]:
        parts = urllib.parse.urlsplit(realm)
        where = f"the token server {parts.scheme}://{parts.netloc}"
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise self.error("the token realm is not an http(s) URL")
        if parts.scheme == "http" and not plain_http_allowed(parts.netloc, self.options):
            raise self.error(f"{where} is plain HTTP; refused (only loopback and --insecure-registry hosts may be)")
        credentials = self._creds()
        query = [("service", service)] if service else []
        query += [("scope", s) for s in scope.split() if s]
        headers = {"User-Agent": f"inspect-image/{__version__}"}
        body = None
        method = "GET"
        if credentials is not None and credentials.identity_token:
            method = "POST"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(query + [("grant_type", "refresh_token"), ("client_id", "inspect-image"),
                                                   ("refresh_token", credentials.identity_token)]).encode()
            url = realm
        else:
            separator = "&" if parts.query else "?"
            url = realm + (separator + urllib.parse.urlencode(query) if query else "")
            basic = credentials.basic() if credentials is not None else None
            if basic:
                headers["Authorization"] = basic
        response = self._send(method, url, headers, body)
        if response.status != 200:
            response.release(complete=False)
            if response.status in (401, 403):
                whose = f"the credentials from {credentials.origin}" if credentials else "anonymous access"
                raise self.error(f"{where} refused {whose} (HTTP {response.status}): wrong user name or password?")
            raise self.error(f"{where} answered HTTP {response.status}")
        data = response.read_capped(MAX_TOKEN_ANSWER, f"{where}'s answer", self.error)
        try:
            answer = json.loads(data)
        except ValueError:
            raise self.error(f"{where} answered something that is not JSON") from None
        token = answer.get("token") or answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise self.error(f"{where} answered without a token")
        expires_in = answer.get("expires_in")
        lifetime = expires_in if isinstance(expires_in, int) and not isinstance(expires_in, bool) else 60
        lifetime = min(max(lifetime, 1), 86400)
        return _header_safe(token, self), time.monotonic() + lifetime - min(lifetime / 10, 5)

    def _creds(self) -> Credentials | None:
        if not self._credentials_read:
            self._credentials = find_credentials(self.ref.host)
            self._credentials_read = True
        return self._credentials

    # --- errors ------------------------------------------------------------------------------
    def _status_error(self, response: Response, what: str, retried: int) -> RegistryError:
        code, message = _error_body(response)
        detail = f"HTTP {response.status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
        if response.status == 401:
            credentials = self._creds()
            if credentials is None:
                return self.error(f"{what}: authentication failed ({detail}); the registry refused anonymous access "
                                  f"(docker login {self.ref.host}, or ~/.docker/config.json)")
            return self.error(f"{what}: authentication failed ({detail}); the registry refused the credentials "
                              f"from {credentials.origin}")
        if response.status == 403:
            return self.error(f"{what}: access denied ({detail})")
        if response.status == 404:
            return self.error(f"{what}: not found ({detail})")
        if response.status in RETRY_STATUSES:
            return self.error(f"{what}: {detail}, still after {retried} retries")
        return self.error(f"{what}: unexpected answer ({detail})")


def parse_challenges(headers: list[str]) -> dict[str, dict[str, str]]:
    """``Bearer realm="…",service="…"`` → ``{"bearer": {"realm": …, "service": …}}`` (schemes lower-cased)."""
    found: dict[str, dict[str, str]] = {}
    for header in headers:
        scheme, _, rest = header.strip().partition(" ")
        params = {}
        for key, value in _CHALLENGE_PARAM.findall(rest):
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[key.lower()] = value
        found.setdefault(scheme.lower(), params)
    return found


def _retry_delay(response: Response, attempt: int) -> float:
    delay = BACKOFF * 2.0 ** attempt
    after = response.headers.get("Retry-After")
    if after and after.strip().isdigit():
        delay = max(delay, min(float(after), MAX_RETRY_AFTER))
    return delay


def _error_body(response: Response) -> tuple[str, str]:
    """The distribution API's ``{"errors": [{"code", "message"}]}``, cleaned to printable text."""
    try:
        data, _late = response.read_bounded(MAX_ERROR_BODY)  # cut short, it is only less of a message
    except (OSError, http.client.HTTPException):
        data = b""
    response.release(complete=False)
    try:
        errors = json.loads(data).get("errors")
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    except (ValueError, AttributeError):
        first = {}
    return _printable(first.get("code"), 40), _printable(first.get("message"), 160)


def _printable(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    text = "".join(c if c.isprintable() and c.isascii() else "?" for c in value)
    return text[:limit] + ("…" if len(text) > limit else "")


def _header_safe(token: str, client: RegistryClient) -> str:
    """A token goes into a header: refuse anything that could break out of it."""
    if len(token) > MAX_TOKEN or not _TOKEN_CHARS.match(token):
        raise client.error("the token server answered a token that cannot be sent in a header")
    return token


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.strerror[:1].isupper() and exc.strerror[1:2].islower() else exc.strerror
    return type(exc).__name__ if not str(exc) else str(exc)[:160]
