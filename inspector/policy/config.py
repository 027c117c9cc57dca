"""Which rules a run enforces, and which paths each rule lets pass: ``--fail-on`` and ``--policy FILE``.

Why strict: a policy is a CI gate. A typo that silently disabled a rule (``setiud``, ``alow``) or an
allow-list glob that silently allowed everything would pass every image, so an unknown rule, an
unknown key, a value of the wrong type or an unreadable file is an error (exit 2, one line), never
ignored.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import InspectorError

#: The rules, in the order findings are reported. Their names are promises (README, "Policy").
RULES: tuple[str, ...] = (
    "cannot-start", "shell", "package-manager", "setuid", "capabilities", "root-user",
    "jdk-tools", "unowned-executable", "modified-file", "world-writable",
)
#: Rules that need the packages report (package databases, and integrity's second read of layers).
PACKAGE_RULES = frozenset({"unowned-executable", "modified-file"})
#: ``--fail-on all`` (or ``fail-on = ["all"]``) enables every rule.
ALL = "all"
#: A policy file is a few lines; anything near this is not one.
MAX_POLICY_BYTES = 1 << 20
#: Keys a policy file may hold.
KEYS = ("fail-on", "allow")


class PolicyError(InspectorError):
    """A policy file or ``--fail-on`` value we cannot enforce as written (exit 2)."""


@dataclass(frozen=True)
class Policy:
    """The enabled rules and, per rule, the globs of paths whose findings are allowed.

    Immutable, hashable and picklable (plain tuples), so a process pool or a Dask worker gets a copy.
    """

    enabled: frozenset[str] = frozenset()
    allow: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (rule, globs), sorted by rule

    @classmethod
    def all(cls, allow: Mapping[str, Iterable[str]] | None = None) -> Policy:
        """Every rule enabled (``allow``: globs per rule, as in a policy file)."""
        return cls(frozenset(RULES), _frozen_allow(allow or {}))

    def enables(self, rule: str) -> bool:
        return rule in self.enabled

    def allows(self, rule: str, path: str | None) -> bool:
        """Whether ``path`` matches one of ``rule``'s allow-list globs (a finding without a path: never)."""
        return path is not None and any(matches(pattern, path) for pattern in self.globs(rule))

    def globs(self, rule: str) -> tuple[str, ...]:
        """The allow-list globs of ``rule``."""
        return next((globs for name, globs in self.allow if name == rule), ())


def matches(pattern: str, path: str) -> bool:
    """Shell-style globs over absolute paths, as ``diff --ignore``: ``*`` and ``**`` match across
    ``/`` (fnmatch), ``?`` one character, ``[...]`` a set; ``dir/**`` also matches ``dir`` itself."""
    if fnmatch.fnmatchcase(path, pattern):
        return True
    return pattern.endswith("/**") and path == pattern[:-3]


def needs_packages(policy: Policy) -> bool:
    """Whether ``evaluate`` needs the packages report (``reports.packages.packages_report``)."""
    return bool(policy.enabled & PACKAGE_RULES)


def parse_rules(values: Iterable[str], where: str = "--fail-on") -> frozenset[str]:
    """Rule names, each value possibly ``a,b,c``; ``all`` means every rule; unknown names are an error."""
    names: set[str] = set()
    for value in values:
        if not value.replace(",", "").strip():
            raise PolicyError(f"{where}: no rule named (rules: {', '.join(RULES)}, or {ALL})")
        for name in value.split(","):
            name = name.strip()
            if not name:
                continue
            if name == ALL:
                names.update(RULES)
            elif name in RULES:
                names.add(name)
            else:
                raise PolicyError(f"{where}: unknown rule {name!r} (rules: {', '.join(RULES)}, or {ALL})")
    return frozenset(names)


def load_policy(path: str | None, fail_on: Iterable[str]) -> Policy:
    """The rules ``fail_on`` names plus those the TOML file at ``path`` enables, with its allow-lists.

    The file (all keys optional)::

        fail-on = ["shell", "setuid"]          # rules to enforce, added to --fail-on
        [allow]
        setuid = ["/usr/bin/passwd", "/usr/lib/openssh/**"]
    """
    enabled = set(parse_rules(fail_on))
    allow: dict[str, list[str]] = {}
    if path is not None:
        document = _read(path)
        unknown = sorted(set(document) - set(KEYS))
        if unknown:
            raise PolicyError(f"unknown key {unknown[0]!r} (keys: {', '.join(KEYS)})", where=path)
        rules = document.get("fail-on", [])
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise PolicyError("fail-on must be a list of rule names", where=path)
        enabled |= parse_rules(rules, where=f"{path}: fail-on")
        table = document.get("allow", {})
        if not isinstance(table, dict):
            raise PolicyError("allow must be a table of rule = [globs]", where=path)
        for rule, globs in table.items():
            if rule not in RULES:
                raise PolicyError(f"allow: unknown rule {rule!r} (rules: {', '.join(RULES)})", where=path)
            if not isinstance(globs, list) or not all(isinstance(g, str) and g for g in globs):
                raise PolicyError(f"allow.{rule} must be a list of path globs", where=path)
            for glob in globs:
                if not glob.startswith("/"):  # paths are absolute: a relative glob would never match
                    raise PolicyError(f"allow.{rule}: {glob!r} is not an absolute path glob", where=path)
            allow[rule] = globs
        if not enabled:
            raise PolicyError("the policy enables no rule: add fail-on = [...] to it, or use --fail-on", where=path)
    return Policy(frozenset(enabled), _frozen_allow(allow))


def _read(path: str) -> dict[str, object]:
    import tomllib  # only with --policy: its import (regexes compiled) is a cost every summary paid

    try:
        with open(path, "rb") as file:
            data = file.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError(f"cannot read the policy file: {exc.strerror or exc}", where=path) from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(f"larger than {MAX_POLICY_BYTES:,} bytes: not a policy file", where=path)
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise PolicyError("not UTF-8 text: not a TOML policy file", where=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}", where=path) from None


def _frozen_allow(allow: Mapping[str, Iterable[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    for rule in allow:
        if rule not in RULES:
            raise PolicyError(f"allow: unknown rule {rule!r} (rules: {', '.join(RULES)})")
    return tuple(sorted((rule, tuple(globs)) for rule, globs in allow.items()))


__all__ = ["ALL", "RULES", "Policy", "PolicyError", "load_policy", "matches", "needs_packages", "parse_rules"]
