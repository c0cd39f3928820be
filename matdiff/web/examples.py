"""The page's menu of examples: each a derivation as ``POST /api/diff`` takes it."""
from __future__ import annotations

from typing import Any


def _ex(title: str, text: str, variable: str | list[str], order: int = 1, then: tuple[str, ...] = (),
        **types: str) -> dict[str, Any]:
    return {"title": title, "input": text, "variable": variable, "order": order, "then": list(then),
            "types": types}


EXAMPLES: list[dict[str, Any]] = [
    _ex("The seed: β Σ |XᵀX − I|", "beta*sum(abs(X'X - I))", "X"),
    _ex("Least squares", "norm2(A*x - b)^2", "x"),
    _ex("Least squares, Hessian", "norm2(A*x - b)^2", "x", 2),
    _ex("Logistic regression", "-sum(log(sigmoid(y .* (X*w))))", "w"),
    _ex("Logistic regression, Hessian", "-sum(log(sigmoid(y .* (X*w))))", "w", 2),
    _ex("Softmax cross-entropy", "-y'*log(softmax(z))", "z", y="probability"),
    _ex("Softmax, Jacobian", "softmax(z)", "z"),
    _ex("Gaussian likelihood, by the covariance", "-logdet(S)/2 - (x-mu)'*inv(S)*(x-mu)/2", "S",
        S="symmetric", mu="vector"),
    _ex("Gaussian likelihood, by the mean", "-logdet(S)/2 - (x-mu)'*inv(S)*(x-mu)/2", "mu",
        S="symmetric", mu="vector"),
    _ex("A Jacobian: A X B", "A*X*B", "X"),
    _ex("Quadratic form, Hessian", "x'*A*x", "x", 2),
    _ex("Backprop: a layer with weight decay, by W and b",
        "z = W*x + b; y = sigmoid(z); L = 0.5*norm2(y - t)^2 + lambda/2*norm2(W)^2", ["W", "b"]),
    _ex("Backprop: a two-layer network",
        "h = tanh(W1*x + b1)\ny = W2*h + b2\nL = 0.5*norm2(y - t)^2", ["W1", "b1", "W2", "b2"]),
    _ex("A mixed derivative: x'Ay by x, then y", "x'*A*y", "x", then=("y",)),
    _ex("A third derivative: Σ x⁴", "sum(x .^ 4)", "x", 3),
    _ex("A declared function: g(A x), g scalar", "g(A*x)", "x", g="scalar function"),
]
