"""The rules: each one turns what a report already found into findings with a path and evidence.

Why here and not in the reports: a rule is a judgement ("a shell is a finding"), the reports are
facts ("these are the shells"). Keeping the judgements in one module lets ``inspect --fail-on`` and
``audit`` agree on them, and lets a rule be read in one place. Each rule reads the same report the
user would see (``--executables``, the summary's ``shells``, ``--jre``, ``--config``, ``--packages``),
so a finding can always be checked by hand with that view.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..fs.node import DIR, SYMLINK, Node
from ..reports import (
    Inspection,
    accounts,
    config_fields,
    find_executables,
    find_runtimes,
    resolve_entrypoint,
    shell_verdict,
)
from ..reports.capabilities import decode as decode_capability
from ..reports.executables import Executable
from ..reports.packages import analyze, unowned_executables
from ..reports.shells import ShellVerdict
from .config import RULES, Policy, needs_packages

#: Programs of a JDK that a runtime image does not need: compilers, packagers, debuggers and
#: diagnostic tools that attach to a running JVM. ``java``, ``keytool``, ``jfr``, ``rmiregistry``
#: and the other tools a JRE ships are not findings.
JDK_TOOLS = frozenset({
    "javac", "javadoc", "javap", "javah", "jar", "jarsigner", "jdb", "jdeprscan", "jdeps", "jhsdb", "jimage",
    "jlink", "jmod", "jpackage", "jshell", "rmic", "serialver", "jcmd", "jinfo", "jmap", "jstack", "jstat",
    "jstatd", "jps", "jconsole", "idlj", "wsimport", "wsgen", "xjc", "schemagen", "native2ascii", "extcheck",
})
_STICKY, _OTHER_WRITE = 0o1000, 0o002


@dataclass(frozen=True)
class Finding:
    """One violation: the rule, the path in the image it is about (None for the config), and why."""

    rule: str
    path: str | None
    evidence: str

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "path": self.path, "evidence": self.evidence}


@dataclass
class _Context:
    """What several rules read, computed once per evaluation."""

    inspection: Inspection
    packages: dict[str, Any] | None
    executables: list[Executable]

    @cached_property
    def verdict(self) -> ShellVerdict:
        """The summary's ``shells`` and package managers (``shell`` and ``package-manager`` read it)."""
        return shell_verdict(self.executables)

    @cached_property
    def by_path(self) -> dict[str, Executable]:
        return {e.path: e for e in self.executables}


def evaluate(inspection: Inspection, packages: dict[str, Any] | None, policy: Policy) -> list[Finding]:
    """The findings of every enabled rule that no allow-list glob lets pass, in ``RULES`` order, then by path.

    ``packages`` is ``reports.packages.packages_report(...)`` when ``needs_packages(policy)``; without it
    ``unowned-executable`` is computed from the inspection, and ``modified-file`` cannot be checked,
    which is itself a finding (a gate that cannot look does not pass).
    """
    if not policy.enabled:
        return []
    context = _Context(inspection, packages if needs_packages(policy) else None, find_executables(inspection))
    findings: list[Finding] = []
    for rule in RULES:
        if not policy.enables(rule):
            continue
        found = {f for f in _CHECKS[rule](context) if not policy.allows(rule, f.path)}
        findings.extend(sorted(found, key=lambda f: (f.path or "", f.evidence)))
    return findings


def _cannot_start(context: _Context) -> Iterator[Finding]:
    resolution = resolve_entrypoint(context.inspection)
    for problem in resolution.problems:
        yield Finding("cannot-start", resolution.path, problem)


def _shell(context: _Context) -> Iterator[Finding]:
    for path in context.verdict.shells:
        yield Finding("shell", path, f"shell {posixpath.basename(path)}{_what(context.by_path.get(path))}")


def _package_manager(context: _Context) -> Iterator[Finding]:
    for path in context.verdict.package_manager_paths:
        yield Finding("package-manager", path,
                      f"package manager {posixpath.basename(path)}{_what(context.by_path.get(path))}")


def _setuid(context: _Context) -> Iterator[Finding]:
    for exe in context.executables:
        if exe.setuid or exe.setgid:  # a link's own mode never counts (``Executable._mode``)
            bits = " and ".join(name for on, name in ((exe.setuid, "setuid"), (exe.setgid, "setgid")) if on)
            node = exe.node
            yield Finding("setuid", exe.path, f"{bits} executable, mode {node.mode:04o}, "
                                              f"owner {node.uid}:{node.gid}")


def _capabilities(context: _Context) -> Iterator[Finding]:
    for exe in context.executables:
        raw = (exe.node.xattrs or {}).get("security.capability")
        if exe.resolves_to is not None or raw is None:
            continue
        decoded = decode_capability(raw)
        text = decoded.get("text") if decoded is not None else None
        if isinstance(text, str) and text:
            evidence = f"file capabilities {text}"
        else:  # the kernel may still grant what it can parse: a value we cannot read is no pass
            evidence = f"a security.capability attribute we cannot decode ({len(raw)} bytes)"
        yield Finding("capabilities", exe.path, evidence)


def user_uid(inspection: Inspection, user: str) -> tuple[int | None, str]:
    """The UID the config's ``User`` runs as, and how we know, resolved as the engine does
    (``accounts.engine_user``: a numeric USER is always a UID, signs included; a passwd id it
    cannot convert is 0); None when the engine refuses the USER (the container cannot start)."""
    if user.split(":")[0] == "":
        return 0, "User is not set"
    runs = accounts.engine_user(inspection, user)
    if runs.error is not None and user.split(":")[0] == "root":  # the engine refuses it, yet it asks for root
        return 0, f"User is {user!r} (not in /etc/passwd)"
    if runs.error is not None:
        return None, f"User is {user!r}: {runs.error}"
    if runs.name is not None:
        return runs.uid, f"User is {user!r}, UID {runs.uid} by its /etc/passwd entry {runs.name!r}"
    return runs.uid, f"User is {user!r}"


def _root_user(context: _Context) -> Iterator[Finding]:
    user = config_fields(context.inspection)["user"]
    uid, why = user_uid(context.inspection, user if isinstance(user, str) else "")
    if uid == 0:
        yield Finding("root-user", None, f"{why}: the container runs as root (UID 0)")


def _jdk_tools(context: _Context) -> Iterator[Finding]:
    for runtime in find_runtimes(context.inspection):
        for tool in runtime.tools:
            if tool in JDK_TOOLS:
                what = " ".join(str(part) for part in (runtime.distribution, runtime.version, runtime.type) if part)
                yield Finding("jdk-tools", posixpath.join(runtime.home, "bin", tool),
                              f"{tool}, a JDK tool, in the Java runtime at {runtime.home} ({what})")


def _unowned_executable(context: _Context) -> Iterator[Finding]:
    items: Any = context.packages.get("unowned_executables") if context.packages is not None else None
    if not isinstance(items, list):
        items = unowned_executables(context.inspection, analyze(context.inspection), context.executables)
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            yield Finding("unowned-executable", item["path"], "no package owns it" + _layer(item))


def _modified_file(context: _Context) -> Iterator[Finding]:
    integrity: Any = context.packages.get("integrity") if context.packages is not None else None
    if not isinstance(integrity, dict):
        yield Finding("modified-file", None, "package integrity was not checked (no packages report)")
        return
    if not integrity.get("available", False):
        note = integrity.get("note")
        yield Finding("modified-file", None, f"package integrity could not be checked: {note or 'no reason given'}")
        return
    for item in integrity.get("modified") or []:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            continue
        path = item.get("resolved_path") if isinstance(item.get("resolved_path"), str) else item["path"]
        recorded = f" (recorded as {item['path']})" if path != item["path"] else ""
        if item.get("type") is not None:
            change = f"a {item['type']} where package {item.get('package')} recorded a file"
        elif item.get("actual") is None:
            change = f"its bytes could not be hashed; package {item.get('package')} recorded " \
                     f"{item.get('algorithm')} {item.get('expected')}"
        else:
            change = f"{item.get('algorithm')} {item.get('actual')}, package {item.get('package')} " \
                     f"recorded {item.get('expected')}"
        yield Finding("modified-file", path, f"{change}{recorded}{_layer(item)}")


def _writable_by_others(name: str, node: Node) -> bool:
    return node.kind != SYMLINK and bool(node.mode & _OTHER_WRITE)


def _world_writable(context: _Context) -> Iterator[Finding]:
    for path, node in context.inspection.fs.select(_writable_by_others):
        if node.kind == DIR and node.mode & _STICKY:
            continue  # /tmp: anyone may add, only owners may remove or rename
        yield Finding("world-writable", path, f"{node.kind} writable by anyone, mode {node.mode & 0o7777:04o}, "
                                              f"owner {node.uid}:{node.gid}")


def _what(exe: Executable | None) -> str:
    if exe is None:
        return ""
    if exe.resolves_to is not None:
        return f" (a link to {exe.resolves_to})"
    return {"elf": " (ELF executable)", "script": " (script)"}.get(exe.kind, " (executable)")


def _layer(item: dict[str, Any]) -> str:
    layer, created_by = item.get("layer"), item.get("layer_created_by")
    if not isinstance(layer, int):
        return ""
    return f"; written by layer {layer}" + (f" ({created_by})" if isinstance(created_by, str) and created_by else "")


_CHECKS: dict[str, Callable[[_Context], Iterator[Finding]]] = {
    "cannot-start": _cannot_start, "shell": _shell, "package-manager": _package_manager, "setuid": _setuid,
    "capabilities": _capabilities, "root-user": _root_user, "jdk-tools": _jdk_tools,
    "unowned-executable": _unowned_executable, "modified-file": _modified_file, "world-writable": _world_writable,
}
assert set(_CHECKS) == set(RULES)
