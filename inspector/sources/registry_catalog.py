"""A registry's tags of one repository (``/v2/NAME/tags/list``) and its catalog (``/v2/_catalog``).

``audit registry:HOST/REPO`` (no tag) audits every tag, ``audit registry:HOST`` every tag of every
repository the catalog lists. Both endpoints page with ``?n=&last=`` and a ``Link: <…>; rel="next"``
header (distribution spec). What a registry answers is untrusted: each page is bounded in bytes,
the names in count, every name is held to the grammar of repository names and tags (so a hostile
name cannot smuggle a path or a query into a later request), and paging stops at a page that
adds no new name (pages that point back at each other would otherwise loop for ever). We never
follow the Link's URL itself: only its ``last`` value is taken, and the next request is built by
us, to the same registry and endpoint.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable

from ..errors import InspectorError
from .registry_http import RegistryClient, RegistryError, Response
from .registry_ref import _COMPONENT, _HOST, _TAG, MAX_NAME, RegistryOptions, RegistryRef, parse_registry_ref

PAGE = 1000  # names asked for per request (registries may answer fewer)
MAX_PAGE_BYTES = 4 << 20  # one JSON page: 1000 names of 255 characters is about 260 KB
MAX_NAMES = 100_000  # tags of one repository, repositories of one catalog, images of one listing
_NEXT = re.compile(r'<([^<>]{1,8192})>\s*;[^,]*\brel="?next"?', re.IGNORECASE)


class ListingError(InspectorError):
    """A tag list or catalog we cannot use (not offered, too large, malformed)."""


def listing_target(text: str) -> tuple[str, str | None] | None:
    """``(host, repository)`` when ``text`` asks for a listing: ``registry:HOST/REPO`` without a tag
    or digest (every tag) or ``registry:HOST`` or ``registry:HOST/`` (``(host, None)``: the
    catalog); None otherwise."""
    if text.startswith("registry:"):
        rest = text[len("registry:"):]
    elif text.startswith("docker://"):
        rest = text[len("docker://"):]
    else:
        return None
    host = rest[:-1] if rest.endswith("/") and rest.count("/") == 1 else rest
    if "/" not in host and "@" not in host and (host != rest or _looks_like_host(host)):
        if not _HOST.match(host):
            raise ListingError(f"{host[:80]!r} is not a registry host name")
        return host, None
    ref = parse_registry_ref(rest)
    if ref.tag is not None or ref.digest is not None:
        return None
    return ref.host, ref.repository


def expand(text: str, options: RegistryOptions, max_names: int = MAX_NAMES, page: int = PAGE) -> list[str] | None:
    """The references a listing reference stands for (``registry:HOST/REPO:TAG`` each), or None when
    ``text`` names one image. Raises ``ListingError``/``RegistryError`` when the listing fails."""
    target = listing_target(text)
    if target is None:
        return None
    host, repository = target
    prefix = "docker://" if text.startswith("docker://") else "registry:"
    repositories = [repository] if repository is not None else list_repositories(host, options, max_names, page)
    found: list[str] = []
    for name in repositories:
        for tag in list_tags(RegistryRef(host, name), options, max_names - len(found), page):
            found.append(f"{prefix}{host}/{name}:{tag}")
    return found


def list_tags(ref: RegistryRef, options: RegistryOptions, max_names: int = MAX_NAMES, page: int = PAGE) -> list[str]:
    """Every tag of ``ref``'s repository, in the registry's order (lexical, per the spec)."""
    client = RegistryClient(RegistryRef(ref.host, ref.repository), options)
    try:
        return _paged(lambda query: client.get(f"tags/list?{query}", "the tag list", "application/json"),
                      "tags", _TAG.match, f"{ref.host}/{ref.repository}", max_names, page)
    finally:
        client.close()


def list_repositories(host: str, options: RegistryOptions, max_names: int = MAX_NAMES,
                      page: int = PAGE) -> list[str]:
    """Every repository the registry's catalog lists (many registries do not offer one: an error)."""
    client = RegistryClient(RegistryRef(host, "_catalog"), options)  # its token scope names "_catalog"
    try:
        return _paged(lambda query: client.get_v2(f"_catalog?{query}", "the catalog", "application/json"),
                      "repositories", _repository_name, host, max_names, page)
    finally:
        client.close()


def _paged(fetch: Callable[[str], Response], key: str, valid: Callable[[str], object], where: str,
           max_names: int, page_size: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    last: str | None = None
    while True:
        query = urllib.parse.urlencode({"n": page_size, **({"last": last} if last is not None else {})})
        response = fetch(query)
        link = response.headers.get("Link")
        body = response.read_capped(MAX_PAGE_BYTES, f"{where}: a page of {key}", ListingError)
        page = _names(body, key, where)
        before = len(names)
        for name in page:
            if not isinstance(name, str) or not valid(name):
                raise ListingError(f"{where}: the registry listed {str(name)[:80]!r}, which is not a valid name")
            if name not in seen:
                if len(names) >= max_names:
                    raise ListingError(f"{where}: more than {max_names:,} {key}; name fewer images")
                seen.add(name)
                names.append(name)
        following = _next_last(link) if link else None
        if following is None or len(names) == before:  # no new name: pages pointing back at each other end here
            return names
        last = following


def _names(body: bytes, key: str, where: str) -> list[object]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise ListingError(f"{where}: the registry's {key} page is not JSON") from None
    if not isinstance(document, dict):
        raise ListingError(f"{where}: the registry's {key} page is not a JSON object")
    names = document.get(key)
    if names is None:
        return []  # a repository without tags answers "tags": null
    if not isinstance(names, list):
        raise ListingError(f"{where}: {key} is not a list")
    return names


def _next_last(link: str) -> str | None:
    """The ``last`` of the Link header's next page (a value we then check and send ourselves)."""
    match = _NEXT.search(link[:16384])
    if match is None:
        return None
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(match[1]).query).get("last")
    if not values or len(values[0]) > MAX_NAME:
        return None
    return values[0]


def _repository_name(name: str) -> bool:
    return 0 < len(name) <= MAX_NAME and all(_COMPONENT.match(c) for c in name.split("/"))


def _looks_like_host(text: str) -> bool:
    """As docker tells a host from a name: a dot, ``localhost`` or an IPv6 address. ``debian:12`` is an
    image; a dotless host with a port is written with a trailing slash (``registry:myhost:5000/``)."""
    name = text.partition(":")[0]
    return "." in name or name == "localhost" or text.startswith("[")


__all__ = ["ListingError", "RegistryError", "expand", "list_repositories", "list_tags", "listing_target"]
