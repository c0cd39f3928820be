"""Property: random programs — random definitions feeding random expressions —
differentiated by several variables at once agree with central finite
differences of a NumPy function that the generator writes alongside the text.

The generator builds each expression twice, as matdiff text and as a NumPy
closure, from a small shape algebra (m = 3, n = 4, distinct so that a missing
transpose shows).  Defined names get initials that contradict the default
types (a vector called ``Z1``, a scalar called ``H2``) to exercise "a defined
name takes the shape of its definition".  Values stay smooth: tanh, sigmoid,
exp of bounded arguments, products and sums.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import matdiff

from fdutil import first_order_error

M, N = 3, 4
INPUTS = {"W": (M, N), "U": (M, M), "x": (N,), "b": (M,), "c": (M,), "beta": ()}
SHAPES = {"vm": (M,), "vn": (N,), "mmn": (M, N), "s": ()}


def sigmoid(u):
    return 1.0 / (1.0 + np.exp(-u))


@dataclass(frozen=True)
class Gen:
    text: str
    f: Callable[[dict], np.ndarray]


class ProgramGen:
    """Random program text and its NumPy oracle, from one seed."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.defined: dict[str, list[str]] = {k: [] for k in SHAPES}
        self.inputs = {"vm": ["b", "c"], "vn": ["x"], "mmn": ["W"], "s": ["beta"]}

    def pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def leaf(self, shape: str) -> Gen:
        name = self.pick(self.inputs[shape] + 2 * self.defined[shape])
        return Gen(name, lambda env, n=name: env[n])

    def expr(self, shape: str, depth: int) -> Gen:
        if depth <= 0 or self.rng.random() < 0.25:
            return self.leaf(shape)
        d = depth - 1
        choice = int(self.rng.integers(6))
        if shape == "vm":
            if choice == 0:
                a = self.expr("vn", d)
                return Gen(f"W*({a.text})", lambda e, a=a: e["W"] @ a.f(e))
            if choice == 1:
                a = self.expr("vm", d)
                return Gen(f"U*({a.text})", lambda e, a=a: e["U"] @ a.f(e))
            if choice == 2:
                a, b = self.expr("vm", d), self.expr("vm", d)
                return Gen(f"({a.text}) .* ({b.text})", lambda e, a=a, b=b: a.f(e) * b.f(e))
            if choice == 3:
                a = self.expr("vm", d)
                fn = self.pick(["tanh", "sigmoid"])
                npf = np.tanh if fn == "tanh" else sigmoid
                return Gen(f"{fn}({a.text})", lambda e, a=a, npf=npf: npf(a.f(e)))
            if choice == 4:
                a, s = self.expr("vm", d), self.expr("s", d)
                return Gen(f"({s.text})*({a.text})", lambda e, a=a, s=s: s.f(e) * a.f(e))
            a, b = self.expr("vm", d), self.expr("vm", d)
            return Gen(f"({a.text}) - ({b.text})", lambda e, a=a, b=b: a.f(e) - b.f(e))
        if shape == "vn":
            if choice in (0, 1, 2):
                a = self.expr("vm", d)
                return Gen(f"W'*({a.text})", lambda e, a=a: e["W"].T @ a.f(e))
            if choice == 3:
                a = self.expr("vn", d)
                return Gen(f"tanh({a.text})", lambda e, a=a: np.tanh(a.f(e)))
            a, b = self.expr("vn", d), self.expr("vn", d)
            return Gen(f"({a.text}) + ({b.text})", lambda e, a=a, b=b: a.f(e) + b.f(e))
        if shape == "mmn":
            if choice in (0, 1):
                a, b = self.expr("vm", d), self.expr("vn", d)
                return Gen(f"({a.text})*({b.text})'", lambda e, a=a, b=b: np.outer(a.f(e), b.f(e)))
            if choice == 2:
                a = self.expr("mmn", d)
                return Gen(f"U*({a.text})", lambda e, a=a: e["U"] @ a.f(e))
            if choice == 3:
                a = self.expr("mmn", d)
                return Gen(f"tanh({a.text})", lambda e, a=a: np.tanh(a.f(e)))
            a, b = self.expr("mmn", d), self.expr("mmn", d)
            return Gen(f"({a.text}) .* ({b.text})", lambda e, a=a, b=b: a.f(e) * b.f(e))
        # scalars
        if choice == 0:
            a, b = self.expr("vm", d), self.expr("vm", d)
            return Gen(f"({a.text})'*({b.text})", lambda e, a=a, b=b: float(a.f(e) @ b.f(e)))
        if choice == 1:
            a = self.expr("vm", d)
            return Gen(f"sum({a.text})", lambda e, a=a: float(np.sum(a.f(e))))
        if choice == 2:
            a = self.expr(self.pick(["vm", "vn", "mmn"]), d)
            return Gen(f"norm2({a.text})^2", lambda e, a=a: float(np.sum(a.f(e) ** 2)))
        if choice == 3:
            a = self.expr("s", d)
            return Gen(f"tanh({a.text})", lambda e, a=a: float(np.tanh(a.f(e))))
        if choice == 4:
            a, b = self.expr("s", d), self.expr("s", d)
            return Gen(f"({a.text})*({b.text})", lambda e, a=a, b=b: a.f(e) * b.f(e))
        a = self.expr("mmn", d)
        return Gen(f"sum(({a.text}) .* W)", lambda e, a=a: float(np.sum(a.f(e) * e["W"])))

    def program(self) -> tuple[str, Callable[..., float]]:
        stmts: list[tuple[str, Gen]] = []
        names = {"vm": ["Z", "H", "h", "a"], "vn": ["G", "g"], "mmn": ["m", "k"], "s": ["Q", "q", "r"]}
        for i in range(int(self.rng.integers(1, 5))):
            shape = self.pick(list(SHAPES))
            g = self.expr(shape, 2)
            name = f"{self.pick(names[shape])}{i + 1}"
            stmts.append((name, g))
            self.defined[shape].append(name)
        terms = [self.expr("s", 1)]
        for name in self.defined["s"]:
            terms.append(Gen(name, lambda e, n=name: e[n]))
        for shape in ("vm", "vn", "mmn"):
            for name in self.defined[shape]:
                terms.append(Gen(f"sum(tanh({name}))", lambda e, n=name: float(np.sum(np.tanh(e[n])))))
        last = Gen(" + ".join(f"({t.text})" for t in terms),
                   lambda e, ts=tuple(terms): float(sum(t.f(e) for t in ts)))
        text = "; ".join(f"{n} = {g.text}" for n, g in stmts) + f"; L = {last.text}"

        def f(**inputs):
            env = dict(inputs)
            for n, g in stmts:
                env[n] = g.f(env)
            return last.f(env)

        return text, f


def draw_inputs(rng) -> dict:
    out = {}
    for name, shape in INPUTS.items():
        out[name] = float(rng.uniform(0.5, 1.5)) if shape == () else 0.5 * rng.standard_normal(shape)
    return out


@pytest.mark.parametrize("seed", range(80))
def test_random_program_gradients_match_finite_differences(seed):
    text, f = ProgramGen(seed).program()
    rng = np.random.default_rng(1000 + seed)
    inputs = draw_inputs(rng)
    parsed = matdiff.parse(text)
    used = [v for v in INPUTS if v in parsed.symbols]
    wrt = [v for v in used if rng.random() < 0.7] or used[:1]
    rs = matdiff.diff(text, wrt)
    args = {k: inputs[k] for k in parsed.symbols}
    together = rs.lambdify()(**args)
    for v in wrt:
        g = rs[v].lambdify()(**args)
        assert np.shape(g) == np.shape(inputs[v]), (text, v)
        err = first_order_error(f, args, v, g)
        assert err < 1e-5, f"{text}\n∂L/∂{v} = {rs[v]}: relative error {err:.2e}"
        np.testing.assert_allclose(together[v], g, rtol=1e-9, atol=1e-12)
    # every printed answer is in the program's names: it parses as the program's last statement
    prefix = "; ".join(text.split("; ")[:-1])
    for v in wrt:
        if "vector(" in str(rs.bodies[v]) or "matrix(" in str(rs.bodies[v]):
            continue  # a constant answer (sum(c) by c is vector(1)): its size cannot be read off alone
        back = matdiff.lambdify(f"{prefix}; {rs.bodies[v]}")
        got = back(**{k: args[k] for k in matdiff.parse(f"{prefix}; {rs.bodies[v]}").symbols})
        np.testing.assert_allclose(np.reshape(got, np.shape(inputs[v])), rs[v].lambdify()(**args),
                                   rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("seed", range(80, 95))
def test_random_program_code_matches_finite_differences(seed):
    text, f = ProgramGen(seed).program()
    rng = np.random.default_rng(2000 + seed)
    inputs = draw_inputs(rng)
    parsed = matdiff.parse(text)
    wrt = [v for v in INPUTS if v in parsed.symbols]
    rs = matdiff.diff(text, wrt)
    ns: dict = {}
    exec(compile(rs.to_code(), "<matdiff generated>", "exec"), ns)  # noqa: S102 - the code under test
    args = {k: inputs[k] for k in parsed.symbols}
    out = ns["gradients"](**args)
    for v in wrt:
        assert first_order_error(f, args, v, out[v]) < 1e-5, (text, v)
