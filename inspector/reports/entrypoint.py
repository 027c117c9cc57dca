"""Can the container start? Resolve ENTRYPOINT/CMD the way the runtime would, inside the image."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from ..fs.links import follow
from ..fs.node import FILE
from .facts import FileFacts
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

    def to_json(self) -> dict[str, Any]:
        return {"argv": self.argv, "path": self.path, "chain": self.chain, "exists": self.exists,
                "executable": self.executable, "kind": self.kind, "interpreter": self.interpreter,
                "interpreter_exists": self.interpreter_exists, "shell_form": self.shell_form,
                "problems": self.problems}


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
    if not argv:
        result.problems.append("neither ENTRYPOINT nor CMD is set: the container has nothing to run "
                               "unless a command is given to `docker run`")
        return result
    program = argv[0]
    result.shell_form = program in SHELLS and len(argv) > 2 and argv[1] == "-c"
    path = _locate(inspection, program, fields["workdir"] or "/", result)
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
    facts = node.content if isinstance(node.content, FileFacts) else None
    if facts is not None:
        result.kind = facts.kind
        if facts.elf is not None and facts.elf.interpreter:
            result.interpreter = facts.elf.interpreter
        elif facts.shebang:
            result.interpreter = facts.shebang.split()[0] if facts.shebang.split() else None
    if result.interpreter:
        found = follow(inspection.fs, result.interpreter)
        result.interpreter_exists = found.node is not None and found.node.kind == FILE
        if not result.interpreter_exists:
            role = "dynamic loader" if result.kind == "elf" else "script interpreter"
            result.problems.append(f"its {role} {result.interpreter} is not in the image: "
                                   "the container cannot start (\"no such file or directory\")")
    return result


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
