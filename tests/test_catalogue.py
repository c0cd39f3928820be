"""The catalogue of functions: the grammar's names are the catalogue's, every record is
complete, and each NumPy implementation agrees with NumPy written here by hand."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import matdiff
from matdiff.calculus.rules import all_rules
from matdiff.core.catalogue import (CATALOGUE, ELEMENTWISE_GROUP, FUNCTIONS, KINKED, SHAPE_RULES, WITH_HELPER,
                                    lookup)

GRAMMAR = Path(matdiff.__file__).resolve().parent.parent / "grammar" / "matdiff.lark"


def grammar_function_names() -> set[str]:
    m = re.search(r"^FUNC[.\d]*:\s*/\((.*?)\)\(\?=", GRAMMAR.read_text(encoding="utf-8"), re.M)
    assert m, "the grammar has no FUNC terminal"
    return set(m.group(1).split("|"))


def test_the_grammar_lists_exactly_the_callable_functions():
    assert grammar_function_names() == set(FUNCTIONS)


def test_every_record_has_a_known_shape_rule_and_unique_name():
    assert len({f.name for f in CATALOGUE}) == len(CATALOGUE)
    assert all(f.shape in SHAPE_RULES for f in CATALOGUE)


def test_every_differentiable_record_has_a_rule_that_the_rule_tests_walk():
    walked = {name for name, *_ in all_rules()}
    for f in CATALOGUE:
        if f.group == ELEMENTWISE_GROUP:
            assert f.fprime is not None and f.differential is None, f.name
        if f.fprime is not None or f.differential is not None:
            assert f.derivative and f.name in walked, f.name
            assert f.numpy is not None, f.name


def test_kink_notes_and_helpers_come_from_records():
    assert set(KINKED) == {"abs", "sign", "relu", "step", "norm1"}
    assert all("{h}" in lookup(n).code for n in WITH_HELPER)


RNG = np.random.default_rng(3)
X = RNG.standard_normal((4, 4)) + 3 * np.eye(4)
U = RNG.uniform(-0.8, 0.8, (3, 5))
z = RNG.standard_normal((5, 1))

BY_HAND = {
    "abs": (U, np.fabs(U)), "sign": (U, np.where(U > 0, 1.0, np.where(U < 0, -1.0, 0.0))),
    "exp": (U, np.e ** U), "log": (U + 1, np.log1p(U)), "sqrt": (U + 1, (U + 1) ** 0.5),
    "sin": (U, np.sin(U)), "cos": (U, np.cos(U)), "tan": (U, np.sin(U) / np.cos(U)),
    "arcsin": (U, np.arctan(U / np.sqrt(1 - U ** 2))), "arccos": (U, np.pi / 2 - np.arctan(U / np.sqrt(1 - U ** 2))),
    "arctan": (U, np.arctan2(U, 1.0)), "tanh": (U, (np.e ** (2 * U) - 1) / (np.e ** (2 * U) + 1)),
    "sigmoid": (U, 1 / (1 + np.e ** -U)), "relu": (U, np.where(U > 0, U, 0.0)), "step": (U, (U > 0) * 1.0),
    "tr": (X, sum(X[i, i] for i in range(4))), "det": (X, np.prod(np.linalg.eigvals(X)).real),
    "logdet": (X, np.log(abs(np.prod(np.linalg.eigvals(X)).real))), "inv": (X, np.linalg.solve(X, np.eye(4))),
    "diagm": (z, np.eye(5) * z.ravel()), "diagv": (X, np.array([[X[i, i]] for i in range(4)])),
    "vec": (U, np.concatenate([U[:, [j]] for j in range(5)])), "sum": (U, U.ravel().sum()),
    "norm2": (U, np.sqrt((U ** 2).sum())), "norm1": (U, np.fabs(U).sum()),
    "softmax": (z, np.e ** z / (np.e ** z).sum()), "logsumexp": (z, np.log((np.e ** z).sum())),
}


@pytest.mark.parametrize("name", [f.name for f in CATALOGUE if f.numpy is not None])
def test_numpy_implementation_against_numpy_by_hand(name):
    arg, expected = BY_HAND[name]
    got = lookup(name).numpy(arg)
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), rtol=1e-10,
                               atol=1e-12)
    if np.ndim(expected) == 0:
        assert isinstance(got, float)


@pytest.mark.parametrize("name", [f.name for f in CATALOGUE if f.exact is not None])
def test_exact_values_agree_with_numpy(name):
    from fractions import Fraction

    rec = lookup(name)
    known = 0
    for v in (Fraction(-2), Fraction(-1, 2), Fraction(0), Fraction(1), Fraction(3, 2)):
        value = rec.exact(v)
        if value is not None:
            known += 1
            assert isinstance(value, Fraction)
            np.testing.assert_allclose(float(value), rec.numpy(np.array([[float(v)]]))[0, 0],
                                       rtol=1e-15, atol=1e-15)
    assert known
    assert matdiff.parse(f"{name}(0)").expr.is_scalar
