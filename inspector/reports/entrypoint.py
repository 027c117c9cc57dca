"""Can the container start? Resolve ENTRYPOINT/CMD the way the runtime would, inside the image.

Nothing is executed: the verdict is what the engine and the program would find at start. A
*problem* means the container cannot start (runc refuses a named USER that the image's own
/etc/passwd lacks; ``java -jar X`` exits at once when X is missing or unreadable). A *note* is
worth knowing but not a failure: a missing WORKDIR is created by the engine, and ``java -jar`` with
no jar is a base image meant to be extended (the jar comes as CMD or ``docker run`` arguments).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from ..fs.links import follow
from ..fs.node import DIR, FILE, Node
from . import accounts
from .facts import RELEASE_MAX, FileFacts
from .interface import Inspection

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # the engine's default
SHELLS = {"/bin/sh", "/bin/bash", "sh", "bash", "/bin/ash", "/busybox/sh"}


@dataclass
class EntrypointResolution:
    argv: list[str] = field(default_factory=list)
    path: str | None = None  # the executable's real path inside the image
    chain: list[str] = field(default_factory=list)  # the symlinks followed to reach it
    exists: bool = False
    executable: bool = False
    kind: str | None = None  # elf, script, other
    interpreter: str | None = None  # ELF dynamic loader, or a script's shebang program
    interpreter_exists: bool | None = None
    shell_form: bool = False
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing, not a reason it cannot start

    def to_json(self) -> dict[str, Any]:
        return {"argv": self.argv, "path": self.path, "chain": self.chain, "exists": self.exists,
                "executable": self.executable, "kind": self.kind, "interpreter": self.interpreter,
                "interpreter_exists": self.interpreter_exists, "shell_form": self.shell_form,
                "problems": self.problems, "notes": self.notes}


#: config field → (the JSON type the engine requires, its name in messages)
_TYPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "Entrypoint": ((list, str), "a list (or a string)"), "Cmd": ((list, str), "a list (or a string)"),
    "Shell": ((list, str), "a list"), "Env": (list, "a list of KEY=value"), "User": (str, "a string"),
    "WorkingDir": (str, "a string"), "ExposedPorts": (dict, "an object"), "Volumes": (dict, "an object"),
    "Labels": (dict, "an object"), "StopSignal": (str, "a string"),
}


def config_fields(inspection: Inspection) -> dict[str, Any]:
    """The raw config fields users ask about, with absent ones as null (or empty), and a ``problems``
    list naming each field of a type the engine would refuse (such a field is reported as absent)."""
    config = inspection.container_config
    problems = config_problems(inspection)

    def value(key: str) -> Any:
        found = config.get(key)
        return found if found is None or isinstance(found, _TYPES[key][0]) else None

    def as_list(key: str) -> list[str] | None:
        found = value(key)
        if isinstance(found, str):
            return [found]  # the engine reads a bare string as a one-element list
        return [str(v) for v in found] if isinstance(found, list) else None

    ports, volumes = value("ExposedPorts"), value("Volumes")
    return {
        "entrypoint": as_list("Entrypoint"),
        "cmd": as_list("Cmd"),
        "user": value("User") or "",
        "workdir": value("WorkingDir") or "",
        "env": [str(e) for e in value("Env") or []],
        "exposed_ports": sorted(ports) if ports else [],
        "volumes": sorted(volumes) if volumes else [],
        "labels": value("Labels") or {},
        "stop_signal": value("StopSignal"),
        "shell": as_list("Shell"),
        "problems": problems,
    }


def config_problems(inspection: Inspection) -> list[str]:
    """Fields whose JSON type the engine refuses ("cannot unmarshal"): the image would not even load."""
    raw = inspection.meta.config.get("config")
    if raw is not None and not isinstance(raw, dict):
        return [f"the image config's \"config\" is a {type(raw).__name__}, not an object: "
                "the engine refuses to load this image"]
    problems = []
    for key, (kinds, expected) in _TYPES.items():
        found = inspection.container_config.get(key)
        if found is not None and not isinstance(found, kinds):
            problems.append(f"config field {key} is a {type(found).__name__}, not {expected}: "
                            "the engine refuses to load this image")
    return problems


def resolve_entrypoint(inspection: Inspection) -> EntrypointResolution:
    fields = config_fields(inspection)
    argv = (fields["entrypoint"] or []) + (fields["cmd"] or []) if fields["entrypoint"] else (fields["cmd"] or [])
    result = EntrypointResolution(argv=argv)
    result.problems.extend(fields["problems"])
    workdir = fields["workdir"] or "/"
    user = _check_user(inspection, fields["user"], result)
    _check_workdir(inspection, fields["workdir"], result)
    if not argv:
        result.problems.append("neither ENTRYPOINT nor CMD is set: the container has nothing to run "
                               "unless a command is given to `docker run`")
        return result
    program = argv[0]
    result.shell_form = program in SHELLS and len(argv) > 2 and argv[1] == "-c"
    path = _locate(inspection, program, workdir, result)
    if path is None:
        return result
    resolution = follow(inspection.fs, path)
    result.chain = resolution.chain if len(resolution.chain) > 1 else []
    if resolution.node is None:
        result.problems.append(_missing(program, resolution.problem, result.shell_form))
        return result
    result.path = resolution.path
    result.exists = True
    node = resolution.node
    result.executable = node.kind == FILE and bool(node.mode & 0o111)
    if not result.executable:
        what = "a directory" if node.kind == "dir" else f"a {node.kind}" if node.kind != FILE else "not executable"
        result.problems.append(f"{resolution.path} is {what}: the container cannot start")
    elif user is not None and not _allowed(node.mode, node.uid, node.gid, user, _EXEC):
        result.problems.append(f"{resolution.path} is not executable by user {user.uid} ({_owner(node)}): "
                               "the container cannot start (\"permission denied\")")
    elif user is not None and (closed := _unsearchable(inspection, resolution.path or path, user)) is not None:
        result.problems.append(f"user {user.uid} may not enter {closed[0]} ({_owner(closed[1])}), so cannot "
                               f"reach {resolution.path}: the container cannot start (\"permission denied\")")
    facts = node.content if isinstance(node.content, FileFacts) else None
    if facts is not None:
        result.kind = facts.kind
        if result.executable and facts.kind == "other":
            result.problems.append(f"{resolution.path} is neither an ELF program nor a script starting with #!: "
                                   "the container cannot start (\"exec format error\")")
        if facts.elf is not None and facts.elf.interpreter:
            result.interpreter = facts.elf.interpreter
        elif facts.shebang:
            result.interpreter = facts.shebang.split()[0] if facts.shebang.split() else None
    if result.interpreter:
        found = follow(inspection.fs, result.interpreter)
        result.interpreter_exists = found.node is not None and found.node.kind == FILE
        role = "dynamic loader" if result.kind == "elf" else "script interpreter"
        if not result.interpreter_exists:
            result.problems.append(f"its {role} {result.interpreter} is not in the image: "
                                   "the container cannot start (\"no such file or directory\")")
        elif found.node is not None and not _allowed(found.node.mode, found.node.uid, found.node.gid,
                                                     user or _Runs(0, 0), _EXEC):
            who = f"user {user.uid}" if user is not None else "anyone"
            result.problems.append(f"its {role} {result.interpreter} is not executable by {who} "
                                   f"({_owner(found.node)}): the container cannot start (\"permission denied\")")
    if posixpath.basename(program) == "java" or posixpath.basename(resolution.path or "") == "java":
        _check_jar(inspection, argv[1:], workdir, user, result)
    return result


#: Characters of an image's string quoted in a sentence (the JSON field itself keeps all of it).
QUOTE_LIMIT = 200


def _quote(text: str) -> str:
    return text if len(text) <= QUOTE_LIMIT else f"{text[:QUOTE_LIMIT]}… ({len(text):,} characters)"


@dataclass(frozen=True)
class _Runs:
    """Who the process runs as, when known: uid, primary gid and supplementary gids."""

    uid: int
    gid: int
    groups: frozenset[int] = frozenset()


def _check_user(inspection: Inspection, spec: str, result: EntrypointResolution) -> _Runs | None:
    """USER as the engine resolves it (``accounts.engine_user``, moby/sys/user's rules): a name must
    be in the image's /etc/passwd (a group name in /etc/group), else the engine refuses to start
    ("unable to find user …: no matching entries in passwd file"); a number needs no file but must
    be in 0..2**31-1."""
    if not spec:
        return _Runs(0, 0)
    user_part, _, group_part = spec.partition(":")
    runs = accounts.engine_user(inspection, spec)
    if runs.error is None:
        return _Runs(runs.uid, runs.gid, runs.groups)
    if runs.error.startswith("unable to find user"):
        if _unread(inspection, accounts.PASSWD):
            result.notes.append(f"USER {_quote(user_part)}: the image's /etc/passwd is larger than we read "
                                f"({RELEASE_MAX:,} bytes), so whether the engine finds the user is not known")
            return None
        where = ("the image's /etc/passwd" if accounts.has_passwd(inspection)
                 else "an /etc/passwd (the image has none)")
        result.problems.append(f"USER {_quote(user_part)} is not in {where}: the container cannot start "
                               f"(\"unable to find user {_quote(user_part)}: no matching entries in passwd file\")")
    elif runs.error.startswith("unable to find group"):
        if _unread(inspection, accounts.GROUP):
            result.notes.append(f"USER {_quote(spec)}: the image's /etc/group is larger than we read "
                                f"({RELEASE_MAX:,} bytes), so whether the engine finds the group is not known")
            return None
        result.problems.append(f"the group {_quote(group_part)} of USER {_quote(spec)} is not in the "
                               "image's /etc/group: the container cannot start (\"unable to find group "
                               f"{_quote(group_part)}: no matching entries in group file\")")
    else:
        result.problems.append(f"USER {_quote(spec)}: {runs.error}: the container cannot start")
    return None


def _unread(inspection: Inspection, path: str) -> bool:
    """Whether ``path`` is a regular file in the image whose text the probe did not keep (too large):
    its absence from it cannot be claimed."""
    node = inspection.fs.lookup(path)
    return node is not None and node.kind == FILE and not (isinstance(node.content, FileFacts)
                                                          and node.content.text is not None)


def _check_workdir(inspection: Inspection, workdir: str, result: EntrypointResolution) -> None:
    """A missing WORKDIR is created by the engine at start (a note); one that is not a directory
    fails the start."""
    if not workdir or workdir == "/":
        return
    found = follow(inspection.fs, workdir if workdir.startswith("/") else "/" + workdir)
    if found.node is None:
        result.notes.append(f"WORKDIR {_quote(workdir)} is not in the image: the engine creates it when the "
                            "container starts (empty, owned by root)")
    elif found.node.kind != DIR:
        result.problems.append(f"WORKDIR {_quote(workdir)} is not a directory (a {found.node.kind}): "
                               "the container cannot start")


#: java launcher options that take the next argument as their value (so it is not the main class).
_JAVA_VALUE_OPTIONS = frozenset({"-cp", "-classpath", "--class-path", "-p", "--module-path", "--upgrade-module-path",
                                 "--add-modules", "--enable-native-access", "--limit-modules", "--add-reads",
                                 "--add-exports", "--add-opens", "--patch-module", "--source", "-d"})


def _check_jar(inspection: Inspection, args: list[str], workdir: str, user: _Runs | None,
               result: EntrypointResolution) -> None:
    """``java [options] -jar X``: X must be a regular file the user can read, relative to WORKDIR;
    with no X, the image waits for one (a note)."""
    jar: str | None = None
    position = 0
    while position < len(args):
        arg = args[position]
        if arg == "-jar":
            if position + 1 >= len(args):
                result.notes.append("java -jar needs a jar argument: none is given, so this is a base image "
                                    "to extend (give the jar as CMD or as `docker run` arguments)")
                return
            jar = args[position + 1]
            break
        if arg in _JAVA_VALUE_OPTIONS:
            position += 2
            continue
        if not arg.startswith("-"):
            return  # a main class: no -jar
        position += 1
    if jar is None or "$" in jar:
        return  # no -jar, or a name only a shell would expand
    path = jar if jar.startswith("/") else posixpath.normpath(posixpath.join(workdir, jar))
    found = follow(inspection.fs, path)
    cannot = "java exits at start (\"Error: Unable to access jarfile\")"
    if found.node is None:
        result.problems.append(f"the jar {_quote(path)} (java -jar) is not in the image"
                               + (f" ({_quote(found.problem)})" if found.problem and len(found.chain) > 1 else "")
                               + f": {cannot}")
    elif found.node.kind != FILE:
        what = "a directory" if found.node.kind == DIR else f"a {found.node.kind}"
        result.problems.append(f"the jar {_quote(path)} (java -jar) is {what}, not a file: {cannot}")
    elif user is not None and not _allowed(found.node.mode, found.node.uid, found.node.gid, user, _READ):
        result.problems.append(f"the jar {_quote(path)} (java -jar) is not readable by user {user.uid} (mode "
                               f"{found.node.mode & 0o7777:04o}, owner {found.node.uid}:{found.node.gid}): {cannot}")


_READ, _EXEC = 0o4, 0o1


def _allowed(mode: int, uid: int, gid: int, user: _Runs, bit: int) -> bool:
    """Whether ``user`` may read (``_READ``) or execute (``_EXEC``) a file of this mode and owner, as
    the kernel decides: root may read anything and execute what has any x bit; else the owner's,
    the group's or the others' bits, the first class that applies."""
    if user.uid == 0:
        return bit == _READ or bool(mode & 0o111)
    if uid == user.uid:
        return bool(mode & (bit << 6))
    if gid == user.gid or gid in user.groups:
        return bool(mode & (bit << 3))
    return bool(mode & bit)


def _unsearchable(inspection: Inspection, path: str, user: _Runs) -> tuple[str, Node] | None:
    """The first directory above ``path`` (a real path) that ``user`` may not search (x), with its
    node: execve resolves the path as that user (root may search anything)."""
    if user.uid == 0:
        return None
    directory = posixpath.dirname(path)
    parents = []
    while directory not in ("/", ""):
        parents.append(directory)
        directory = posixpath.dirname(directory)
    for parent in reversed(parents):
        node = inspection.fs.lookup(parent)
        if node is not None and node.kind == DIR and not _allowed(node.mode, node.uid, node.gid, user, _EXEC):
            return parent, node
    return None


def _owner(node: Node) -> str:
    return f"mode {node.mode & 0o7777:04o}, owner {node.uid}:{node.gid}"


def _locate(inspection: Inspection, program: str, workdir: str, result: EntrypointResolution) -> str | None:
    """An absolute path for ``program``: as given, relative to WORKDIR, or found on the image's PATH."""
    if "/" in program:
        return program if program.startswith("/") else posixpath.normpath(posixpath.join(workdir, program))
    search = inspection.env.get("PATH", DEFAULT_PATH)
    for directory in search.split(":"):
        if not directory:
            continue
        candidate = posixpath.join(directory, program)
        found = follow(inspection.fs, candidate)
        if found.node is not None and found.node.kind == FILE and found.node.mode & 0o111:
            return candidate
    result.problems.append(f"{program} is not found on the image's PATH ({search}): the container cannot start")
    return None


def _missing(program: str, problem: str | None, shell_form: bool) -> str:
    if shell_form:
        return (f"the entrypoint uses the shell form ({program} -c …) but the image has no {program}: "
                "the container cannot start")
    return f"{problem or program + ' does not exist in the image'}: the container cannot start"
