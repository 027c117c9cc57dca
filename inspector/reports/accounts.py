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


# --------------------------------------------------------------------------------------------------
# USER as the engine resolves it
# --------------------------------------------------------------------------------------------------
# Who a container runs as is decided by the engine (moby/sys/user GetExecUser, which Docker and
# runc share), not by getpwnam(3): it reads /etc/passwd its own way, and an image author who knows
# the difference can make a root container look like another user (or a startable one look
# broken). So this part copies its rules, not the display parser's above: each line is trimmed,
# split on ':', a name is any string, an id is strconv.Atoi (a sign allowed) and an id it cannot
# convert is 0 ("conversion errors ignored"); a numeric USER is always a UID, never a name; a
# number with no entry must be in 0..2**31-1.

#: moby/sys/user's minID and maxID: a numeric USER or group with no entry outside them is ErrRange.
ENGINE_MAX_ID = (1 << 31) - 1
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000"
_INT64 = (1 << 63) - 1


def go_atoi(text: str) -> int | None:
    """``strconv.Atoi``: an optional sign then ASCII digits (None otherwise); clamped to int64."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > 4096:
        return None
    value = min(int(digits), _INT64)
    return -value if text.startswith("-") else value


def _engine_lines(text: str | None, fields: int) -> list[list[str]]:
    """Lines as moby/sys/user reads them: trimmed, blank ones skipped, split on ':', padded."""
    rows = []
    for n, raw in enumerate((text or "").split("\n")):
        if n >= MAX_ENTRIES:
            break
        line = raw.strip(_GO_SPACE)
        if line:
            parts = line.split(":")[:fields]
            rows.append(parts + [""] * (fields - len(parts)))
    return rows


@dataclass(frozen=True)
class EngineUser:
    """What the engine runs the container as, or why it refuses to (``error``, its own words)."""

    uid: int = 0
    gid: int = 0
    groups: frozenset[int] = frozenset()
    name: str | None = None  # the passwd entry matched, when one was
    error: str | None = None


def engine_user(inspection: Inspection, spec: str) -> EngineUser:
    """``USER spec`` (``user``, ``user:group``) resolved as moby/sys/user ``GetExecUser`` does."""
    parts = spec.split(":")
    user_arg, group_arg = parts[0], parts[1] if len(parts) > 1 else ""
    uid_arg, gid_arg = go_atoi(user_arg), go_atoi(group_arg)
    passwd = [(p[0], go_atoi(p[2]) or 0, go_atoi(p[3]) or 0) for p in _engine_lines(_text(inspection, PASSWD), 4)]
    if user_arg == "":
        match = next((p for p in passwd if p[1] == 0), None)
    elif uid_arg is not None:
        match = next((p for p in passwd if p[1] == uid_arg), None)
    else:
        match = next((p for p in passwd if p[0] == user_arg), None)
    uid = gid = 0
    name = None
    if match is not None:
        name, uid, gid = match
    elif user_arg != "":
        if uid_arg is None:
            return EngineUser(error=f"unable to find user {user_arg}: no matching entries in passwd file")
        if not 0 <= uid_arg <= ENGINE_MAX_ID:
            return EngineUser(error=f"uids and gids must be in range 0-{ENGINE_MAX_ID}")
        uid = uid_arg
    groups: frozenset[int] = frozenset()
    if group_arg != "" or name is not None:
        table = [(p[0], go_atoi(p[2]) or 0, p[3].split(",")) for p in _engine_lines(_text(inspection, GROUP), 4)]
        if group_arg == "":
            groups = frozenset(g[1] for g in table if name in g[2])
        else:
            found = next((g for g in table if (g[1] == gid_arg if gid_arg is not None else g[0] == group_arg)),
                         None)
            if found is not None:
                gid = found[1]
            elif gid_arg is None:
                return EngineUser(uid, error=f"unable to find group {group_arg}: no matching entries in group file")
            elif not 0 <= gid_arg <= ENGINE_MAX_ID:
                return EngineUser(uid, error=f"uids and gids must be in range 0-{ENGINE_MAX_ID}")
            else:
                gid = gid_arg
    return EngineUser(uid, gid, groups, name)
