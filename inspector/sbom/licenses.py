"""A package database's licence text as SPDX, only where it already is SPDX.

apk (``L:``) and rpm (``License``) record free text; modern Alpine and Fedora write SPDX
identifiers and expressions there (``GPL-2.0-only``, ``MIT AND BSD-3-Clause``), older rpms write
``GPLv2+``. Both schemas check identifiers against the SPDX list, and a wrong one makes the whole
document invalid, so only identifiers from the set below count as SPDX; anything else is kept as
a licence *name* (CycloneDX) or declared ``NOASSERTION`` (SPDX). The set holds the licences Linux
distributions actually use (each one checked against both validators' SPDX lists by the tests):
a run-time copy of the whole list (600 entries) is not worth a dependency.
"""

from __future__ import annotations

import re

SPDX_IDS = frozenset({
    "0BSD", "AFL-2.1", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-1.1", "Apache-2.0", "Artistic-1.0",
    "Artistic-1.0-Perl", "Artistic-2.0", "Beerware", "BSD-1-Clause", "BSD-2-Clause", "BSD-3-Clause",
    "BSD-4-Clause", "BSD-Source-Code", "BSL-1.0", "bzip2-1.0.6", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-3.0",
    "CC-BY-SA-4.0", "CC0-1.0", "CDDL-1.0", "CDDL-1.1", "curl", "EPL-1.0", "EPL-2.0", "EUPL-1.2", "FSFAP",
    "FSFUL", "FSFULLR", "FTL", "GFDL-1.2-only", "GFDL-1.2-or-later", "GFDL-1.3-only", "GFDL-1.3-or-later",
    "GPL-1.0-only", "GPL-1.0-or-later", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later",
    "HPND", "ICU", "IJG", "Info-ZIP", "ISC", "LGPL-2.0-only", "LGPL-2.0-or-later", "LGPL-2.1-only",
    "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later", "Libpng", "libpng-2.0", "libtiff", "MIT",
    "MIT-0", "MPL-1.1", "MPL-2.0", "NCSA", "OFL-1.1", "OpenSSL", "PHP-3.01", "PostgreSQL", "PSF-2.0",
    "Python-2.0", "Ruby", "Sleepycat", "TCL", "Unicode-3.0", "Unicode-DFS-2016", "Unlicense", "UPL-1.0",
    "Vim", "W3C", "WTFPL", "X11", "Zlib", "ZPL-2.1",
})
SPDX_EXCEPTIONS = frozenset({
    "Autoconf-exception-3.0", "Bison-exception-2.2", "Classpath-exception-2.0", "GCC-exception-3.1",
    "LLVM-exception", "OpenJDK-assembly-exception-1.0",
})
_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_OPERATORS = {"AND", "OR"}
MAX_LICENSE = 1000  # characters of a licence text worth looking at


def spdx_id(text: str | None) -> str | None:
    """The SPDX identifier ``text`` is, exactly; else None."""
    return text if text in SPDX_IDS else None


def spdx_expression(text: str | None) -> str | None:
    """``text`` when it is a well-formed SPDX expression over known identifiers; else None."""
    if not text or len(text) > MAX_LICENSE:
        return None
    tokens = _TOKEN.findall(text)
    depth = 0
    expect_operand = True
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "(":
            if not expect_operand:
                return None
            depth += 1
        elif token == ")":
            if expect_operand or depth == 0:
                return None
            depth -= 1
        elif token in _OPERATORS:
            if expect_operand:
                return None
            expect_operand = True
        elif token in SPDX_IDS and expect_operand:
            expect_operand = False
            if index + 1 < len(tokens) and tokens[index + 1] == "WITH":
                if index + 2 >= len(tokens) or tokens[index + 2] not in SPDX_EXCEPTIONS:
                    return None
                index += 2
        else:
            return None
        index += 1
    return text.strip() if not expect_operand and depth == 0 else None
