"""Policy gates for CI: rules with stable names over what the reports found, and allow-lists per rule.

``load_policy`` reads ``--fail-on`` and a TOML ``--policy`` file; ``evaluate`` turns one inspected image
(and, for the package rules, its packages report) into ``Finding`` objects. Any finding of an enabled
rule makes ``inspect-image`` (and ``audit``) exit 1, as ``diff --exit-code`` does (README, "Policy").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports
from .config import ALL, RULES, Policy, PolicyError, load_policy, matches, needs_packages, parse_rules

if TYPE_CHECKING:
    from .render import attach, finding_line, finding_lines
    from .rules import JDK_TOOLS, Finding, evaluate

# The rules and the renderers read the reports: imported when first used, so that the command line can
# name the rules in its help without importing every report.
__getattr__ = lazy_exports(__name__, {
    "attach": ".render", "finding_line": ".render", "finding_lines": ".render",
    "JDK_TOOLS": ".rules", "Finding": ".rules", "evaluate": ".rules",
})

#: The exit code when an enabled rule found something (the ``diff --exit-code`` convention).
EXIT_FINDINGS = 1

__all__ = [
    "ALL", "EXIT_FINDINGS", "JDK_TOOLS", "RULES", "Finding", "Policy", "PolicyError", "attach", "evaluate",
    "finding_line", "finding_lines", "load_policy", "matches", "needs_packages", "parse_rules",
]
