"""docs/CONFIGURATION.md lists exactly jrt.env.VARIABLES, and only jrt/env.py reads JRT_* variables."""
import re
from pathlib import Path

from jrt import env

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "jrt"


def _documented_rows():
    rows = {}
    for line in (REPO / "docs" / "CONFIGURATION.md").read_text().splitlines():
        m = re.match(r"\| `(JRT_\w+)` \| (.*?) \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


def test_configuration_doc_lists_exactly_the_variables():
    rows = _documented_rows()
    assert list(rows) == list(env.VARIABLES), "docs/CONFIGURATION.md and jrt.env.VARIABLES differ (names or order)"
    for name, (default, help_text) in rows.items():
        var = env.VARIABLES[name]
        assert default == (f"`{var.default}`" if var.default else "(unset)"), name
        assert help_text == var.help.replace("|", "/"), name


READS = re.compile(r"""(os\.environ(\.get)?\s*[\[(]\s*|os\.getenv\s*\(\s*)(f?["'])JRT_""")
ANY_JRT_ENV = re.compile(r"""os\.(environ|getenv)[^\n]*["']JRT_""")


def test_only_env_module_reads_jrt_variables():
    offenders = []
    for path in SRC.rglob("*.py"):
        if path == SRC / "env.py":
            continue
        text = path.read_text()
        for pattern in (READS, ANY_JRT_ENV):
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                offenders.append(f"{path.relative_to(REPO)}:{line}")
    assert not offenders, "JRT_* read outside jrt/env.py (use jrt.env.get): " + ", ".join(sorted(set(offenders)))
