"""The page's menu of examples: each a derivation as ``POST /api/diff`` takes it."""
from __future__ import annotations

from typing import Any


def _ex(title: str, text: str, variable: str, order: int = 1, **types: str) -> dict[str, Any]:
    return {"title": title, "input": text, "variable": variable, "order": order, "types": types}


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
]
