"""The README's console examples are what a user sees in a terminal (numbers of --check aside)."""
import io
import re
import shlex
from pathlib import Path

import pytest

from matdiff.cli import run

README = Path(__file__).resolve().parent.parent / "README.md"


def console_examples():
    """(command, expected output lines) for every `$ matdiff …` in a console block."""
    text = README.read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        current = None
        for line in block.splitlines():
            if line.startswith("$ "):
                current = (line[2:], [])
                out.append(current)
            elif current is not None and line.strip():
                current[1].append(line)
    return out


EXAMPLES = console_examples()


def test_readme_has_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("command,expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example(command, expected):
    argv = shlex.split(command)
    assert argv[0] == "matdiff"
    screen = io.StringIO()  # standard output and standard error, in the order a terminal shows them
    code = run(argv[1:], out=screen, err=screen)
    got = [ln for ln in screen.getvalue().splitlines() if ln.strip()]
    keep = [ln for ln in expected if not ln.startswith("check ok")]
    assert [ln for ln in got if not ln.startswith("check ok")] == keep
    assert code == (2 if any(ln.startswith("matdiff:") for ln in expected) else 0)
