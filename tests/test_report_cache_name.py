"""The report cache looks entries up by the facts variant's name without importing the codec: the
name it uses must be the codec's, or every warm summary and --packages repeat would miss."""

from __future__ import annotations

import subprocess
import sys

from inspector import reports
from inspector.reports.facts import CODEC


def test_the_variant_name_is_the_codecs() -> None:
    assert reports.FACTS_VARIANT == CODEC.name == reports.FACTS_CODEC.name


def test_naming_the_variant_imports_no_reader() -> None:
    code = ("import sys, inspector.reports as r; r.FACTS_VARIANT; "
            "print(sorted(m for m in sys.modules if m.startswith(('inspector.reports.facts', 'inspector.packages'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
