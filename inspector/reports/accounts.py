"""The image's own users and groups, from its ``/etc/passwd`` and ``/etc/group``.

Why: ``ls -l`` in a container names owners from the container's files, not the host's, and the
engine refuses to start a container whose named ``USER`` is not in them. Both files are the
image's, so hostile: the facts probe keeps them only up to ``facts.RELEASE_MAX`` bytes (a larger
one counts as absent, and owners show as numbers), at most ``MAX_ENTRIES`` lines are read, a
line that is not ``name:password:id:...`` with a decimal id below 2**32 is skipped, and names are
bounded here and escaped by the renderers. As getpwuid(3) does, the first line for an id or a
name wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..fs.node import FILE
from .facts import FileFacts
from .interface import Inspection

PASSWD = "/etc/passwd"
GROUP = "/etc/group"
#: Lines read from either file (a real one has tens; the probe already bounds its bytes).
MAX_ENTRIES = 10_000
#: Longest name kept (useradd allows 32; musl and glibc accept more).
MAX_NAME = 256
_ID_LIMIT = 1 << 32


@dataclass(frozen=True)
class User:
    """One ``/etc/passwd`` line: ``name:password:uid:gid:gecos:home:shell``."""

    name: str
    uid: int
    gid: int
    home: str
    shell: str


@dataclass(frozen=True)
class Group:
    """One ``/etc/group`` line: ``name:password:gid:member,member``."""

    name: str
    gid: int
    members: tuple[str, ...]


def _text(inspection: Inspection, path: str) -> str | None:
    """The file's text as the probe kept it, followed through the image's links; None when absent,
    not a regular file, or too large to keep."""
    node = inspection.fs.lookup(path)
    if node is None or node.kind != FILE or not isinstance(node.content, FileFacts):
        return None
    return node.content.text


def _id(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if value < _ID_LIMIT else None


def _name(text: str) -> str | None:
    """A name as listings can show it: printable, one word (a name with spaces could pose as other
    columns of an ``ls -l`` row), not a NIS ``+``/``-`` entry."""
    if not text or len(text) > MAX_NAME or not text.isprintable() or text.startswith(("+", "-")):
        return None
    return text if len(text.split()) == 1 and text.split()[0] == text else None


def _fields(text: str | None, count: int) -> list[list[str]]:
    """Lines of at least ``count`` colon-separated fields, comments and blanks skipped, bounded."""
    if not text:
        return []
    rows = []
    for n, line in enumerate(text.split("\n")):
        if n >= MAX_ENTRIES:
            break
        if not line or line.startswith("#"):
            continue
        parts = line.split(":", 6)
        if len(parts) >= count:
            rows.append(parts)
    return rows


def parse_passwd(text: str | None) -> list[User]:
    """The well-formed lines of a passwd file (NIS ``+``/``-`` lines and malformed ones skipped)."""
    users = []
    for parts in _fields(text, 4):
        name, uid, gid = _name(parts[0]), _id(parts[2]), _id(parts[3])
        if name is None or uid is None or gid is None:
            continue
        users.append(User(name, uid, gid, parts[5][:4096] if len(parts) > 5 else "",
                          parts[6][:4096] if len(parts) > 6 else ""))
    return users


def parse_group(text: str | None) -> list[Group]:
    """The well-formed lines of a group file."""
    groups = []
    for parts in _fields(text, 3):
        name, gid = _name(parts[0]), _id(parts[2])
        if name is None or gid is None:
            continue
        members = tuple(m for m in (parts[3].split(",", MAX_ENTRIES)[:MAX_ENTRIES] if len(parts) > 3 else ())
                        if _name(m))
        groups.append(Group(name, gid, members))
    return groups


def users(inspection: Inspection) -> list[User]:
    """The users ``/etc/passwd`` names, in file order ([] when there is none)."""
    return parse_passwd(_text(inspection, PASSWD))


def groups(inspection: Inspection) -> list[Group]:
    """The groups ``/etc/group`` names, in file order ([] when there is none)."""
    return parse_group(_text(inspection, GROUP))


def has_passwd(inspection: Inspection) -> bool:
    """Whether the image has an ``/etc/passwd`` we could read (a distroless static image may not)."""
    return _text(inspection, PASSWD) is not None


def lookup_user(inspection: Inspection, name: str) -> User | None:
    """The first ``/etc/passwd`` entry named ``name``, as getpwnam(3) finds it."""
    return next((u for u in users(inspection) if u.name == name), None)


def lookup_group(inspection: Inspection, name: str) -> Group | None:
    """The first ``/etc/group`` entry named ``name``, as getgrnam(3) finds it."""
    return next((g for g in groups(inspection) if g.name == name), None)


@dataclass(frozen=True)
class Names:
    """uid → user name and gid → group name (first entry wins), for listings of many files."""

    users: dict[int, str]
    groups: dict[int, str]

    def user(self, uid: int) -> str:
        """The name ``ls -l`` shows for ``uid``: the image's name for it, else the number."""
        return self.users.get(uid, str(uid))

    def group(self, gid: int) -> str:
        return self.groups.get(gid, str(gid))


def names(inspection: Inspection) -> Names:
    """The image's id → name maps (read once per listing)."""
    by_uid: dict[int, str] = {}
    for u in users(inspection):
        by_uid.setdefault(u.uid, u.name)
    by_gid: dict[int, str] = {}
    for g in groups(inspection):
        by_gid.setdefault(g.gid, g.name)
    return Names(by_uid, by_gid)
