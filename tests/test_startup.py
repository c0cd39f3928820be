"""The first call and the command line's manners: what a fresh process imports,
where the parser's tables are kept between runs, the progress line on stderr for
slow work, and a clean stop on Ctrl-C.  No timing assertions: only what is
imported, written and printed, and the exit status."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from matdiff.frontend import syntax
from matdiff.progress import DELAY, Progress, derivation_label

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sympy", "IPython", "matplotlib", "starlette", "uvicorn", "jax", "torch", "matdiff.web")


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_py(code: str, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          env=env or child_env(), timeout=timeout)


def imported_by(argv: list[str]) -> set[str]:
    """The modules a fresh process imports to run the command line with ``argv`` (``-X importtime``)."""
    code = "import sys; from matdiff.cli import main; sys.argv = ['matdiff'] + sys.argv[1:]; main()"
    p = run_py(code, *argv, env=child_env(PYTHONPROFILEIMPORTTIME="1"))
    assert p.returncode == 0, p.stderr[-2000:]
    mods = set()
    for line in p.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            mods.add(line.rsplit("|", 1)[1].strip())
    assert "matdiff.cli" in mods and "numpy" in mods  # the listing is really there
    return mods


def heavy(mods: set[str]) -> set[str]:
    return {m for m in mods if any(m == h or m.startswith(h + ".") for h in HEAVY)}


# -- what a fresh process imports ---------------------------------------------------------
@pytest.mark.parametrize("argv", [["tr(A*X*B)", "X"], ["x'*A*x", "x", "--hessian"],
                                  ["beta*sum(abs(X'X - I))", "X", "--steps", "--format", "unicode"]])
def test_the_command_lines_plain_path_imports_no_sympy_web_or_notebook_modules(argv):
    assert heavy(imported_by(argv)) == set()


def test_import_and_diff_leave_sympy_unloaded_until_a_sympy_feature_is_used():
    p = run_py("""
        import sys, matdiff
        r = matdiff.diff("tr(A*X*B)", "X")
        before = "sympy" in sys.modules
        s = r.to_sympy()
        print(before, "sympy" in sys.modules, type(s).__module__.split(".")[0])
    """)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["False", "True", "sympy"]


# -- the parser's tables, kept between runs -------------------------------------------------
PARSE_TWICE = """
    import logging
    from lark import logger
    logger.setLevel(logging.DEBUG)
    import matdiff
    print(matdiff.diff("tr(A*X*B)", "X"))
"""


def test_parser_tables_are_saved_in_the_users_cache_directory_and_loaded_from_it(tmp_path):
    env = child_env(XDG_CACHE_HOME=str(tmp_path))
    first = run_py(PARSE_TWICE, env=env)
    assert first.returncode == 0, first.stderr
    files = list((tmp_path / "matdiff").glob("parser-*.lark"))
    assert len(files) == 1 and files[0].stat().st_size > 1000
    assert "Saving grammar to cache" in first.stderr
    second = run_py(PARSE_TWICE, env=env)
    assert second.returncode == 0 and "Loading grammar from cache: " + str(files[0]) in second.stderr
    assert first.stdout == second.stdout == "A'*B'\n"


def test_the_cache_file_name_follows_the_grammar():
    g = syntax.grammar_text()
    assert syntax.parser_cache_file(g) != syntax.parser_cache_file(g + "\n// changed\n")
    assert syntax.parser_cache_file(g) == syntax.parser_cache_file(g)


def test_a_cache_directory_that_cannot_be_made_means_no_cache_not_an_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    p = run_py(PARSE_TWICE, env=child_env(XDG_CACHE_HOME=str(blocker / "cache")))
    assert p.returncode == 0 and p.stdout == "A'*B'\n", p.stderr
    assert not list(tmp_path.rglob("parser-*.lark"))


def test_an_unwritable_or_broken_cache_file_is_rebuilt_in_memory(tmp_path):
    env = child_env(XDG_CACHE_HOME=str(tmp_path))
    assert run_py(PARSE_TWICE, env=env).returncode == 0
    (path,) = (tmp_path / "matdiff").glob("parser-*.lark")
    path.write_bytes(path.read_bytes()[:200])  # truncated: a crash while writing
    p = run_py(PARSE_TWICE, env=env)
    assert p.returncode == 0 and p.stdout == "A'*B'\n", p.stderr
    path.unlink()
    path.mkdir()  # neither readable nor writable as a file (as root, permissions would not stop a write)
    p = run_py(PARSE_TWICE, env=env)
    assert p.returncode == 0 and p.stdout == "A'*B'\n", p.stderr


def test_a_stale_cache_file_from_another_grammar_is_not_used(tmp_path):
    """lark keeps the grammar's hash inside the file: tables of another grammar saved
    under this grammar's name are refused, and the right parser is built."""
    env = child_env(XDG_CACHE_HOME=str(tmp_path))
    code = """
        import sys
        from lark import Lark
        from matdiff.frontend import syntax
        path = syntax.parser_cache_file(syntax.grammar_text())
        Lark("start: NAME\\n%import common.CNAME -> NAME\\n", parser="lalr", cache=path)
        syntax._parser.cache_clear()
        print(syntax._parser().parse("x'*A*x").data)
    """
    p = run_py(code, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "mul"


def test_the_run_time_lexer_reads_every_input_as_the_checked_contextual_one_does():
    """The run-time parser lexes with one scanner (``lexer="basic"``); the grammar is
    checked with lark's contextual lexer in strict mode. Both must read the same
    trees and fail at the same place, on the example expressions and their mutilations."""
    from lark import Lark, Token
    from lark.exceptions import UnexpectedInput

    contextual = Lark(syntax.grammar_text(), parser="lalr", strict=True, propagate_positions=True,
                      maybe_placeholders=False, lexer="contextual", lexer_callbacks={"NAME": syntax._declared_call})
    runtime = syntax._parser()
    texts = ["beta*sum(abs(X'X - I))", "tr(A*X*B)", "x'*A*x", "-sum(log(sigmoid(y .* (X w))))",
             "sum_i(Phi[:,i,:]'*Phi[:,i,:])", "a = X*w; sum(a.^2)", "f'(u)'*x", "A.T*X ./ B .^ 2 ⊗ C",
             "Σ_{i,j}(delta(i,j)*X[i,j])", "x'x/(1-1)", "1e5.5*x'x", "X*[1,2]", "((x)", "A..*B", "x ᵀ ′"]
    mutated = set(texts)
    for t in texts:
        for k in range(1, len(t)):
            mutated |= {t[:k], t[k:], t[:k] + t[k + 1:]}

    def shape(node):
        if isinstance(node, Token):
            return (node.type, str(node), node.column)
        return (str(node.data), tuple(shape(c) for c in node.children))

    def read(parser, text):
        try:
            return shape(parser.parse(text))
        except UnexpectedInput as e:
            return f"{type(e).__name__} at {e.column}"

    assert len(mutated) > 500
    for t in sorted(mutated):
        assert read(runtime, t) == read(contextual, t), t


# -- the progress line ---------------------------------------------------------------------
class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_says_nothing_for_work_shorter_than_the_delay():
    err = io.StringIO()
    p = Progress(err, delay=0.5)
    p.phase("deriving")
    p.stop()
    assert err.getvalue() == ""


def test_progress_into_a_pipe_is_one_plain_line_per_phase():
    err = io.StringIO()
    with Progress(err, delay=0.05, interval=0.05) as p:
        p.phase("deriving the Hessian")
        time.sleep(0.4)
        p.phase("checking numerically")
        time.sleep(0.3)
    assert err.getvalue() == "matdiff: deriving the Hessian…\nmatdiff: checking numerically…\n"


def test_progress_on_a_terminal_updates_one_line_and_erases_it():
    err = FakeTerminal()
    p = Progress(err, delay=0.05, interval=0.05)
    p.phase("deriving the Hessian")
    time.sleep(0.4)
    p.stop()
    text = err.getvalue()
    assert "\n" not in text and text.startswith("\rmatdiff: deriving the Hessian… ")
    assert text.count("\r") >= 3  # written, rewritten, erased
    last = text.rsplit("\r", 2)
    assert last[-1] == "" and last[-2].strip() == ""  # ends erased: blanks, then back to column 0


def test_derivation_labels():
    assert derivation_label(2) == "deriving the Hessian"
    assert derivation_label(2, several=True) == "deriving the Hessians"
    assert derivation_label(1, then=1) == "deriving the mixed derivative"
    assert derivation_label(3) == "deriving the derivative of order 3"


def cli(*argv: str, **kw) -> subprocess.CompletedProcess:
    code = "import sys; from matdiff.cli import main; sys.argv = ['matdiff'] + sys.argv[1:]; main()"
    return run_py(code, *argv, **kw)


@pytest.mark.parametrize("argv", [["tr(A*X*B)", "X"], ["x'*A*x", "x", "--hessian", "--check"],
                                  ["beta*sum(abs(X'X - I))", "X", "--steps"], ["x'*A*x", "x", "--format", "json"]])
def test_fast_calls_print_nothing_extra(argv):
    t = time.perf_counter()
    p = cli(*argv)
    elapsed = time.perf_counter() - t
    assert p.returncode == 0, p.stderr
    lines = p.stderr.splitlines()
    progress = [line for line in lines if line.startswith("matdiff:")]
    # on a machine busy enough to stretch the call past the delay the progress line is right;
    # within it, nothing but the answer is written
    assert not progress or elapsed > DELAY, (elapsed, progress)
    assert "\r" not in p.stderr
    assert "…" not in p.stdout


# -- Ctrl-C ----------------------------------------------------------------------------------
def interrupt_when_slow(code: str, argv: list[str], wait_for: float = 120) -> tuple[int, str, str, bool]:
    """Start the command line, wait for its progress line (it is then past a second of work),
    send SIGINT and collect (status, stdout, stderr, whether it was interrupted while running)."""
    # Python's own Ctrl-C handler, even where this test runs with SIGINT ignored (a background job)
    code = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n" + code
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=child_env())
    try:
        first = proc.stderr.readline()  # blocks until the progress line, or EOF when it ended first
        running = proc.poll() is None and first.startswith("matdiff: ")
        if running:
            proc.send_signal(signal.SIGINT)
        out, rest = proc.communicate(timeout=wait_for)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, first + rest, running


SPIN = """
import sys, time
import matdiff.cli

def slow_diff(*args, **kw):  # a derivation that takes a minute, in pure Python as matdiff's own work is
    end = time.monotonic() + 60
    while time.monotonic() < end:
        sum(range(1000))

matdiff.cli.diff = slow_diff
sys.argv = ["matdiff"] + sys.argv[1:]
matdiff.cli.main()
"""


def test_ctrl_c_during_a_long_derivation_stops_with_one_line_and_status_130():
    code, out, err, running = interrupt_when_slow(SPIN, ["x'*A*x", "x", "--hessian"])
    assert running
    assert code == 130
    assert out == ""
    assert err == "matdiff: deriving the Hessian…\nmatdiff: interrupted\n"


def test_ctrl_c_stops_a_big_hessian():
    """A real slow derivation: the Hessian of tr(A1 X A2 X … A1500 X), several seconds of work, so
    that the interrupt arrives while it runs, not as it ends."""
    expr = "tr(" + "*".join(f"A{i}*X" for i in range(1, 1501)) + ")"
    run = "import sys; from matdiff.cli import main; sys.argv = ['matdiff'] + sys.argv[1:]; main()"
    code, out, err, running = interrupt_when_slow(run, [expr, "X", "--hessian"], wait_for=300)
    if not running:
        pytest.skip("the derivation ended within a second: nothing to interrupt")
    assert code == 130, err[-2000:]
    assert "Traceback" not in err
    assert err.splitlines()[0] == "matdiff: deriving the Hessian…"
    assert err.splitlines()[-1] == "matdiff: interrupted"
