"""Jupyter display, LaTeX validity and structure plots.

* the HTML of a result is well formed and carries the closed form, the notes
  and every derivation step typeset;
* every LaTeX string ``to_latex`` produces for a wide set of results parses
  with matplotlib's mathtext.  mathtext lacks ``\\lVert``/``\\rVert``
  (MathJax and LaTeX have them); the test writes them as ``\\|`` before
  parsing, the only substitution;
* ``plot_structure`` gives a figure with one axes holding one image.
"""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import numpy as np
import pytest

import matdiff
from matdiff.present.jupyter import latex_steps, result_html, result_markdown

VOID = {"br", "hr", "img", "meta", "input", "link"}


class _Balance(HTMLParser):
    """Checks that every tag is closed in order; collects the text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse_html(s: str) -> _Balance:
    p = _Balance()
    p.feed(s)
    p.close()
    assert not p.errors and not p.stack, (p.errors, p.stack)
    return p


CASES = [
    ("beta*sum(abs(X'X - I))", "X", 1, None),        # notes: subgradient
    ("tr(A*X*B)", "X", 1, None),
    ("x'*A*x", "x", 2, None),
    ("tr(X'*A*X)", "X", 2, None),                    # I ⊗ (A + A')
    ("X'X", "X", 1, None),                           # K
    ("A*X*B", "X", 1, None),                         # B' ⊗ A
    ("kron(X, A)", "X", 1, None),
    ("inv(X)", "X", 1, None),
    ("det(X)", "X", 2, None),
    ("logdet(X)", "X", 1, None),
    ("x'*inv(S)*x", "S", 1, {"S": "symmetric"}),
    ("x'*S*x", "S", 2, {"S": "symmetric"}),
    ("tr(S*A)", "S", 1, {"S": "symmetric"}),
    ("softmax(z)", "z", 1, None),                    # a where-form
    ("logsumexp(z)", "z", 2, None),
    ("norm2(A*x - b)", "x", 1, None),
    ("norm2(X)", "X", 2, None),
    ("norm1(x)", "x", 1, None),
    ("sum(log(exp(-y.*(X*w)) + vector(1)))", "w", 2, None),
    ("sigmoid(X)*a", "X", 1, None),
    ("relu(W*x)", "x", 1, None),
    ("X .^ 3", "X", 1, None),
    ("x .^ alpha", "alpha", 1, None),
    ("tr(X^3)", "X", 1, None),
    ("X^-2", "X", 1, None),
    ("A*X ./ (B + X)", "X", 1, None),
    ("sqrt(x'x) + tanh(x)'*sin(x) + arctan(x)'*cos(x)", "x", 1, None),
    ("diag(x)*A*diag(x)", "x", 1, None),
    ("vec(X'X)", "X", 1, None),
    ("exp(alpha*x)", "alpha", 1, None),
    ("alpha^2*beta_1 + sigma2/alpha", "alpha", 2, None),
    ("tan(X) .* arcsin(X/2) ./ arccos(X/3)", "X", 1, None),
]
IDS = [f"{e} wrt {w} (order {o})" for e, w, o, _ in CASES]


@pytest.fixture(scope="module")
def results():
    return {i: matdiff.diff(e, w, order=o, types=t) for i, (e, w, o, t) in zip(IDS, CASES)}


@pytest.mark.parametrize("case", IDS)
def test_html_is_well_formed_and_complete(results, case):
    r = results[case]
    s = r._repr_html_()
    assert s == result_html(r)
    p = _parse_html(s)
    text = "".join(p.text)
    assert r.latex() in text                       # the closed form, typeset
    assert "$$" in text and "<details>" in s and "<summary>" in s
    assert r.variable.name in text
    for n in r.notes:
        assert n in text
    steps = latex_steps(r)
    assert len(steps) == len(r.steps)
    for tex, label in steps:
        if tex:
            assert f"$$ {tex} $$" in text
        if label:
            assert label in text
    assert sum(1 for tex, _ in steps if tex) >= len(steps) - 1  # every step but a remark is typeset


def test_steps_keep_the_rule_labels():
    r = matdiff.diff("beta*sum(abs(X'X - I))", "X")
    labels = [label for _, label in latex_steps(r)]
    bracketed = [m.group(1) for s in r.steps for m in [re.search(r"\[(.*)\]$", s)] if m]
    assert [x for x in labels if x] == bracketed
    assert r.notes and "subgradient" in result_html(r)


@pytest.mark.parametrize("expr,wrt,order,types", [
    ("x'*S*x", "S", 2, {"S": "symmetric"}), ("sum(kron(X,X)*vec(A))", "X", 1, None),
    ("x'*dx*sum(exp(x))", "x", 2, None), ("softmax(W*x)", "x", 1, None), ("sum(exp(beta*x))", "beta", 2, None)])
def test_text_and_latex_steps_are_one_derivation_printed_twice(expr, wrt, order, types):
    from matdiff.present.steps import derivation_steps

    r = matdiff.diff(expr, wrt, order=order, types=types)
    lines, typeset = derivation_steps(r), latex_steps(r)
    assert len(lines) == len(r.steps) == len(typeset)
    for line, text, (tex, label) in zip(lines, r.steps, typeset):
        assert bool(tex) == (line.form != "remark")
        assert label == (line.text if line.form == "remark" else line.label)
        assert text.endswith(f"[{label}]") if line.label else "[" not in text[-2:]


def test_a_programs_steps_stay_text_in_jupyter():
    r = matdiff.diff("z = W*x + b; L = sum(sigmoid(z))", "W")
    assert latex_steps(r) == [("", t) for t in r.steps]


def test_html_escapes_the_input():
    r = matdiff.diff("x'*A*x", "x")
    s = result_html(r)
    assert html.escape("x'*A*x") in s
    assert "x'*A*x" in "".join(_parse_html(s).text)


def test_markdown():
    r = matdiff.diff("x'*A*x", "x", order=2)
    md = result_markdown(r)
    assert f"$$ H = {r.latex()} $$" in md and "Derivation:" in md
    assert md.count("\n1. ") == 1
    assert r._repr_markdown_() == md  # Jupyter's Markdown display of a result is this text


def test_parsed_has_latex():
    p = matdiff.parse("tr(X'*A*X)")
    assert p._repr_latex_().startswith("$\\displaystyle ")


# -- LaTeX validity ---------------------------------------------------------------
def _mathtext_ready(tex: str) -> str:
    """The one construct mathtext lacks: \\lVert … \\rVert, written \\| … \\|."""
    return tex.replace(r"\lVert", r"\|").replace(r"\rVert", r"\|")


@pytest.fixture(scope="module")
def mathtext():
    pytest.importorskip("matplotlib")
    from matplotlib.mathtext import MathTextParser

    return MathTextParser("path")




@pytest.mark.parametrize("case", IDS)
def test_latex_parses_with_mathtext(results, mathtext, case, request):
    r = results[case]
    formulas = [r.latex(), matdiff.parse(r.input, {k: "symmetric" for k, s in r.symbols.items() if s.symmetric})
                ._repr_latex_()[len("$\\displaystyle "):-1]]
    formulas += [tex for tex, _ in latex_steps(r) if tex]
    for tex in formulas:
        mathtext.parse(f"${_mathtext_ready(tex)}$")


@pytest.mark.parametrize("text", ["inv(X)^2", "(X')^2", "X' .^ 2", "inv(X) .^ 2"])
def test_power_of_postfix_is_braced(text):
    from matdiff.present.printing import to_latex

    assert "}^{" not in to_latex(matdiff.parse(text).expr)


def test_kron_inside_product_is_parenthesized():
    r = matdiff.diff("X'X", "X")
    assert r"\left(I + K_{nn}\right) \left(I \otimes X^{\top}\right)" in r.latex()
    assert "(I ⊗ Xᵀ)" in r.unicode()


# -- structure plots ----------------------------------------------------------------
@pytest.fixture(scope="module")
def agg():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    return mpl


def test_plot_structure_hessian_is_block_diagonal(agg):
    r = matdiff.diff("tr(X'*A*X)", "X", order=2)   # I ⊗ (A + A'), on vec X
    fig = r.plot()
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.images) == 1
    zero = np.ma.getmaskarray(ax.images[0].get_array())
    l, n = r.variable.shape
    from matdiff.present.plotting import structure_values

    _, dims = structure_values(r)
    b, k = dims[l], dims[n]
    assert zero.shape == (b * k, b * k)
    for i in range(k):  # nonzero diagonal blocks, zero elsewhere
        for j in range(k):
            block = zero[i * b:(i + 1) * b, j * b:(j + 1) * b]
            assert (not block.any()) if i == j else block.all()
    assert len(ax.lines) == 2 * (k - 1)  # grid lines between the vec blocks
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_plot_structure_with_given_values(agg):
    from matdiff.present.plotting import plot_structure

    r = matdiff.diff("A*X*B", "X")
    rng = np.random.default_rng(0)
    fig = plot_structure(r, A=rng.standard_normal((2, 3)), B=rng.standard_normal((4, 5)))
    img = fig.axes[0].images[0].get_array()
    assert img.shape == (2 * 5, 3 * 4)
    with pytest.raises(matdiff.UsageError):
        plot_structure(r, Q=np.eye(2))


def test_plot_structure_vector_and_scalar(agg):
    assert len(matdiff.diff("x'*A*x", "x").plot().axes[0].images) == 1
    assert len(matdiff.diff("alpha^2", "alpha").plot().axes[0].images) == 1
