"""The grammar file itself: strict LALR (no conflicts, no colliding terminals)
and sample inputs per rule, parsed into the trees they mean."""
import pytest

import matdiff
from matdiff.frontend.syntax import build_parser


def test_grammar_is_strict_lalr():
    pytest.importorskip("interegular")
    build_parser(strict=True)


SAME = [
    ("X'X", "X'*X"), ("2X", "2*X"), ("A X B", "A*X*B"), ("(A+B)C", "(A + B)*C"), ("A (B+C)", "A*(B + C)"),
    ("a / 2b", "(a/2)*b"), ("Xᵀ", "X'"), ("A ⊙ B", "A .* B"), ("A ∘ B", "A .* B"), ("A ⊗ B", "kron(A, B)"),
    ("X^-1", "inv(X)"), ("X^-2", "inv(X)*inv(X)"), ("-beta^2", "-(beta^2)"), ("X + eye", "X + I"), ("1e-3*x", "0.001*x"),
    ("x'Ax", "x'*Ax"), ("beta^2", "beta*beta"), ("c ./ A", "c*(matrix(1) ./ A)"),
    ("A @ B", "A*B"), ("X.T", "X'"), ("x ** 2", "x .^ 2"),  # NumPy's spellings
]


@pytest.mark.parametrize("a,b", SAME)
def test_equivalent_spellings(a, b):
    types = {"c": "scalar", "a": "scalar", "b": "scalar"} if "/ 2b" in a or "c ./" in a else None
    assert matdiff.parse(a, types).expr == matdiff.parse(b, types).expr


def test_concatenated_name_is_noted():
    notes = matdiff.parse("x'*A*x + x'Ax").notes
    assert any("'Ax' is read as one name" in n for n in notes)


def test_types_by_default():
    syms = matdiff.parse("beta*sigma_1*alpha2 + x'*A*x + tr(Sigma)").symbols
    assert syms["beta"].is_scalar and syms["sigma_1"].is_scalar and syms["alpha2"].is_scalar
    assert syms["x"].is_vector and not syms["A"].is_vector and not syms["Sigma"].is_scalar
