"""The JSON round trip of the page: read a request, derive, answer.

A request is what ``matdiff EXPR WRT --format json`` prints (``input``,
``variable``, ``order``; other keys of that object are ignored), plus the
optional ``types`` (name → type, as ``matdiff.diff(types=)``), ``code`` (a
list of code targets besides NumPy, e.g. ``["jax", "torch"]``) and
``symbols`` (true: add the table of names with their types and dimensions) and
``product`` (``jvp``, ``vjp`` or ``hvp``: add ``products``, the code of that
product with a direction for NumPy and each target, ``result.to_code(target,
product=…)``, or the error saying why the result has none).
``variable`` is a name, a list of names or names separated by commas (``"W,b"``,
as the command line takes them: one gradient each, ``matdiff.diff(f, ["W",
"b"])``); ``then`` is a list of names (``--then``: the mixed derivative
``matdiff.diff(f, x, *then)``). The object printed for several variables
(``variables`` without ``variable``) and for a mixed derivative (``kind``
``mixed``) are read back as what they came from.
The answer is what ``--format json`` prints for the same input (the result's
``to_dict()`` with the notes the command line adds), with those additions.
Nothing here evaluates text: the expression goes to ``matdiff.diff`` and
nowhere else.

``read_request`` runs in the server and checks the request's form and limits;
``run_job`` runs in a worker process (``pool.py``), so a derivation that runs
away can be stopped."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..frontend.request import split_variables, unused_declarations

MAX_BODY = 64 * 1024  # bytes of one request
MAX_INPUT = 2000  # characters of the expression
MAX_NAME = 100  # characters of the variable and of a declared name
MAX_TYPES = 100  # declared names
MAX_ORDER = 6  # as matdiff.diff
MAX_VARIABLES = 50  # names in ``variable`` and ``then`` together
CODE_TARGETS = ("numpy", "jax", "torch")
PRODUCTS = ("jvp", "vjp", "hvp")
TYPES = ("scalar", "vector", "matrix", "symmetric", "probability", "tensor", "function", "scalar function")
FUNCTION_TYPES = ("function", "scalar function")


class RequestError(Exception):
    """A request the server refuses before deriving: an HTTP status and one line."""

    def __init__(self, status: int, message: str, kind: str = "bad request") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind

    def body(self) -> dict[str, Any]:
        return {"error": {"kind": self.kind, "message": self.message}}


@dataclass(frozen=True)
class Job:
    """One derivation to run in a worker: ``op`` is ``diff`` or ``check``."""

    op: str
    input: str
    variable: str | tuple[str, ...]  # a tuple: several variables, one derivative each
    order: int = 1
    then: tuple[str, ...] = ()  # the mixed derivative by variable, then these
    types: dict[str, str] = field(default_factory=dict)
    code: tuple[str, ...] = ()
    symbols: bool = False
    product: str | None = None


def read_request(body: bytes, op: str) -> Job:
    """The job a request body asks for, or a ``RequestError`` (400, 413) saying what is wrong."""
    if len(body) > MAX_BODY:
        raise RequestError(413, f"the request is {len(body)} bytes; the limit is {MAX_BODY}", "limit")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise RequestError(400, f"the request is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise RequestError(400, f"the request must be a JSON object, got {type(data).__name__}")
    data = _as_asked(data)
    missing = [k for k in ("input", "variable") if k not in data]
    if missing:
        raise RequestError(400, f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    text = data["input"]
    _expect(isinstance(text, str), "input", "a string", text)
    if len(text) > MAX_INPUT:
        raise RequestError(413, f"the expression is {len(text)} characters long; the limit is {MAX_INPUT}", "limit")
    if not text.strip():
        raise RequestError(400, "the expression is empty")
    names = _names(data["variable"], "variable")
    then = _names(data["then"], "then") if data.get("then") not in (None, [], "") else ()
    if len(names) + len(then) > MAX_VARIABLES:
        raise RequestError(413, f"{len(names) + len(then)} variables; the limit is {MAX_VARIABLES}", "limit")
    several = isinstance(data["variable"], list) or len(names) > 1
    variable: str | tuple[str, ...] = names if several else names[0]
    order = data.get("order", 1)
    _expect(isinstance(order, int) and not isinstance(order, bool), "order", "an integer", order)
    if not 1 <= order <= MAX_ORDER:
        raise RequestError(400, f"order must be between 1 and {MAX_ORDER}, got {order}")
    product = data.get("product")
    if product is not None and product not in PRODUCTS:
        raise RequestError(400, f"unknown product {product!r}; the products are {', '.join(PRODUCTS)}")
    return Job(op, text, variable, order, then, _types(data.get("types")), _code(data.get("code")),
               _flag(data.get("symbols", False)), product)


def _as_asked(data: dict[str, Any]) -> dict[str, Any]:
    """The object ``--format json`` printed, as the request it answers: several variables
    print ``variables`` alone; a mixed derivative prints them all, the first the ``variable``."""
    variables = data.get("variables")
    if not isinstance(variables, list) or "then" in data:
        return data
    if "variable" not in data:
        return dict(data, variable=variables)
    if data.get("kind") == "mixed" and variables[:1] == [data["variable"]]:
        return dict(data, then=variables[1:], order=1)
    return data


def _names(value: Any, field_name: str) -> tuple[str, ...]:
    """A name, names separated by commas, or a list of names, as a tuple (never empty)."""
    if isinstance(value, str):
        items = split_variables(value)
    else:
        _expect(isinstance(value, list) and all(isinstance(v, str) for v in value), field_name,
                "a string or an array of strings", value)
        items = [v.strip() for v in value]
    if not value or not all(items):
        raise RequestError(400, f"'{field_name}' has an empty name")
    for name in items:
        if len(name) > MAX_NAME:
            raise RequestError(413, f"the {field_name} is {len(name)} characters long; the limit is {MAX_NAME}",
                               "limit")
    return tuple(items)


def _expect(ok: bool, name: str, what: str, value: Any) -> None:
    if not ok:
        raise RequestError(400, f"'{name}' must be {what}, got {_json_type(value)}")


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _types(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    _expect(isinstance(value, dict), "types", "an object of name → type", value)
    if len(value) > MAX_TYPES:
        raise RequestError(413, f"{len(value)} declared names; the limit is {MAX_TYPES}", "limit")
    for name, kind in value.items():
        if len(name) > MAX_NAME:
            raise RequestError(413, f"a declared name is {len(name)} characters long; the limit is {MAX_NAME}", "limit")
        _expect(isinstance(kind, str) and len(kind) <= MAX_NAME, f"types.{name}", "a type name", kind)
    return dict(value)


def _code(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    _expect(isinstance(value, list) and all(isinstance(v, str) for v in value), "code",
            "an array of code targets", value)
    unknown = [v for v in value if v not in CODE_TARGETS]
    if unknown:
        raise RequestError(400, f"unknown code target {unknown[0]!r}; the targets are {', '.join(CODE_TARGETS)}")
    return tuple(dict.fromkeys(value))


def _flag(value: Any) -> bool:
    _expect(isinstance(value, bool), "symbols", "true or false", value)
    return value


# -- in the worker process ---------------------------------------------------------
def warm_up() -> None:
    """Import matdiff and load its grammar, so the first request is as fast as the rest."""
    import matdiff

    matdiff.diff("x'*A*x", "x")


def run_job(job: Job) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) of one job; matdiff's errors become 422 with their column."""
    import matdiff

    symbols = symbol_table(job.input, job.types) if job.symbols else None
    try:
        variable = list(job.variable) if isinstance(job.variable, tuple) else job.variable
        r = matdiff.diff(job.input, variable, *job.then, types=job.types or None, order=job.order)
        if job.op == "check":
            body: dict[str, Any] = check_body(r.check())
        else:
            body = dict(r.to_dict(), notes=list(r.notes) + unused_declarations(job.types, r))
            if job.code:
                body["code"] = {t: (body["numpy"] if t == "numpy" else r.to_code(t)) for t in job.code}
            if job.product:
                body["products"] = {job.product: product_code(r, job.product, ("numpy", *job.code))}
    except matdiff.MatdiffError as e:
        status, body = 422, error_body(e)
    except RecursionError:
        status, body = 422, {"error": {"kind": "error", "message": "the expression is nested too deeply"}}
    except MemoryError:
        status, body = 413, {"error": {"kind": "limit", "message": "the derivation needed more memory than a "
                                                                   "worker may use, and was stopped"}}
    except Exception as e:  # a bug in matdiff: one line, never a traceback
        status, body = 500, {"error": {"kind": "internal error",
                                       "message": f"{type(e).__name__}: {e} (please report this expression)"}}
    else:
        status = 200
    if job.symbols:
        body["symbols"] = symbols
    return status, body


def error_body(e: Exception) -> dict[str, Any]:
    """A matdiff error as JSON: its kind, message and the columns it points at (1-based)."""
    column = getattr(e, "column", None)
    text = getattr(e, "text", None)
    err: dict[str, Any] = {"kind": getattr(e, "kind", "error"), "type": type(e).__name__,
                           "message": getattr(e, "message", str(e)), "report": str(e)}
    if column is not None and text is not None:
        err.update(column=column, width=getattr(e, "width", 1), text=text)
    return {"error": err}


def product_code(r: Any, product: str, targets: tuple[str, ...]) -> dict[str, Any]:
    """target → the code of the product with a direction, or ``error``: why there is none."""
    import matdiff

    try:
        return {t: r.to_code(t, product=product) for t in dict.fromkeys(targets)}
    except matdiff.MatdiffError as e:
        return {"error": getattr(e, "message", str(e))}
    except TypeError:  # several variables, a mixed or higher derivative
        return {"error": f"the {product} code is made for a gradient, Jacobian or Hessian of one variable"}


def check_body(report: Any) -> dict[str, Any]:
    """A numerical check report as JSON (``ok`` is null when it could not be made); a check
    of several variables has one such object per variable under ``variables``."""
    ok = getattr(report, "ok", None)
    err = getattr(report, "max_rel_error", None)
    body = {"ok": ok if isinstance(ok, bool) or ok is None else bool(ok), "text": str(report),
            "max_rel_error": err if isinstance(err, (int, float)) and math.isfinite(err) else None,
            "trials": getattr(report, "trials", None), "dims": dict(getattr(report, "dims", {}) or {}),
            "message": getattr(report, "message", ""), "status": getattr(report, "status", None)}
    reports = getattr(report, "reports", None)
    if isinstance(reports, dict):
        body["variables"] = {v: check_body(r) for v, r in reports.items()}
    return body


def symbol_table(text: str, types: dict[str, str]) -> list[dict[str, Any]] | None:
    """The names of the expression, each with its type (declared or inferred) and dimensions,
    the declared functions it calls among them. When the expression reads but does not type
    (``g(A*x)`` with ``g`` not yet declared a function), the names it is written with, each
    with its declared type or none (``type`` null) and ``called`` when written ``name(…)``,
    so that a type can still be chosen; None when it does not read at all or a declared type
    is unknown."""
    import matdiff

    try:
        parsed = matdiff.parse(text, types or None)
    except matdiff.UsageError:
        return None
    except matdiff.MatdiffError:
        return written_names(text, types)
    except Exception:
        return None
    from matdiff.core.declared import calls

    rows = [{"name": name, "type": types.get(name) or inferred_type(sym), "declared": name in types,
             "shape": [str(d) for d in getattr(sym, "shape", ())]}
            for name, sym in parsed.symbols.items()]
    called = {c.name for c in calls(parsed.expr)}
    if parsed.program is not None:
        for d in parsed.program.definitions:
            called |= {c.name for c in calls(d.expr)}
    rows += [{"name": name, "type": kind, "declared": True, "shape": []}
             for name, kind in types.items() if kind in FUNCTION_TYPES and name in called]
    return rows


def written_names(text: str, types: dict[str, str]) -> list[dict[str, Any]] | None:
    """The names of a text that reads but does not type, in order of appearance (not the
    functions of the language, nor the names a program defines); None when it does not read."""
    from matdiff.core.catalogue import FUNCTIONS
    from matdiff.frontend.syntax import parse_raw

    try:
        raw = parse_raw(text, frozenset(n for n, k in types.items() if k in FUNCTION_TYPES))
    except Exception:
        return None
    names: dict[str, bool] = {}  # name → written as a call
    defined: set[str] = set()

    def visit(node: Any) -> None:
        if not hasattr(node, "op"):
            return
        if node.op == "name":
            names.setdefault(node.args[0], False)
            return
        if node.op == "define":
            defined.add(node.args[0])
            visit(node.args[1])
            return
        if node.op == "call" and node.args[0] not in FUNCTIONS:
            names[node.args[0].rstrip("'")] = True
        if node.op == "mul":
            left, right = node.args
            head = left.args[0] if left.op == "transpose" else left
            if head.op == "name" and right.op == "paren" and right.start == left.end:
                names[head.args[0]] = True
        for a in node.args:
            visit(a)

    visit(raw)
    return [{"name": n, "type": types.get(n), "declared": n in types, "shape": [], "called": called}
            for n, called in names.items() if n not in defined and n not in ("I", "eye")]


def inferred_type(sym: Any) -> str:
    """The type a name was given from its spelling and its place, read off its symbol."""
    if getattr(sym, "probability", False):
        return "probability"
    if getattr(sym, "symmetric", False):
        return "symmetric"
    shape = tuple(getattr(sym, "shape", ()))
    if len(shape) > 2:
        return "tensor"
    if shape == (1, 1) or not shape:
        return "scalar"
    if shape[-1] == 1:
        return "vector"
    return "matrix"
