"""The command line (SPEC §4): ``matdiff EXPR WRT [options]``.

Exit status: 0 success, 1 when --check finds a mismatch, 2 on bad input —
always a one-line message with a caret, never a traceback."""
from __future__ import annotations

import argparse
import json
import sys

from .api import diff
from .errors import MatdiffError, UsageError

FORMATS = ("text", "unicode", "latex", "index", "numpy", "jax", "torch", "json")
KINDS = ("scalar", "vector", "matrix", "symmetric", "probability", "tensor")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # bad flags: exit 2 with one line, like every bad input
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="matdiff", description="Closed-form derivatives of matrix expressions.",
                epilog="example: matdiff \"beta*sum(abs(X'X - I))\" X --steps --check")
    p.add_argument("expr", help="the expression, e.g. \"tr(A*X*B)\"")
    p.add_argument("wrt", help="the variable to differentiate by; several: W,b (one gradient each)")
    p.add_argument("--order", type=int, default=1, help="1 (default) or 2 for the Hessian")
    p.add_argument("--hessian", action="store_true", help="same as --order 2")
    p.add_argument("--gauss-newton", action="store_true",
                   help="for f = L(N(x)): the Gauss-Newton part J_N' H_L J_N of the Hessian")
    for kind in KINDS:
        p.add_argument(f"--{kind}", action="append", default=[], metavar="NAMES",
                       help=f"comma-separated names declared {kind}")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--steps", action="store_true", help="show the derivation, one rewrite per line")
    p.add_argument("--check", action="store_true", help="verify numerically on random inputs")
    return p


def _types(args) -> dict[str, str]:
    out: dict[str, str] = {}
    for kind in KINDS:
        for group in getattr(args, kind):
            for name in group.split(","):
                name = name.strip()
                if name and out.setdefault(name, kind) != kind:
                    raise UsageError(f"'{name}' is declared both {out[name]} and {kind}")
    return out


VALUE_OPTIONS = {"--order", "--format"} | {f"--{k}" for k in KINDS}


def _reorder(argv: list[str]) -> list[str]:
    """Options first, then ``--`` and the positionals: an expression may start
    with a minus (``-y'*log(sigmoid(z))``) without being taken for a flag."""
    options: list[str] = []
    positionals: list[str] = []
    it = iter(argv)
    for a in it:
        if a == "--":
            positionals.extend(it)
        elif a.startswith("--") or a == "-h":
            options.append(a)
            if a in VALUE_OPTIONS:
                value = next(it, None)
                if value is not None:
                    options.append(value)
        else:
            positionals.append(a)
    return options + ["--"] + positionals


def _variables(text: str):
    """W,b → ['W', 'b']; commas inside brackets belong to an indexed part (Phi[:,a,b])."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts if len(parts) > 1 else text


def index_form(r) -> str:
    """The answer entry by entry (SPEC §6), for index expressions and matrix ones alike."""
    if not hasattr(r, "index"):
        from .indices.stage import as_index_result
        r = as_index_result(r)
    return r.index()


def run(argv: list[str] | None = None, out=None, err=None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(_reorder(sys.argv[1:] if argv is None else list(argv)))
        order = 2 if (args.hessian or args.gauss_newton) else args.order
        wrt = _variables(args.wrt)
        if args.gauss_newton and isinstance(wrt, list):
            raise UsageError("--gauss-newton takes one variable")
        r = diff(args.expr, wrt, types=_types(args), order=order)
        if args.gauss_newton:
            r = r.gauss_newton
        if args.format == "json":
            print(json.dumps(r.to_dict(), indent=2, ensure_ascii=False), file=out)
        else:
            if args.format in ("numpy", "jax", "torch"):
                body = r.to_code(args.format)
            else:
                body = index_form(r) if args.format == "index" else \
                    {"text": r.text, "unicode": r.unicode(), "latex": r.latex()}[args.format]
            if args.steps:
                for line in r.steps:
                    print(line, file=out)
                print(file=out)
            print(body, file=out)
            mark = "# note" if args.format in ("numpy", "jax", "torch") else "note"
            for note in r.notes:
                print(f"{mark}: {note}", file=out)
        if args.check:
            report = r.check()
            print(report, file=out)
            return 0 if report.ok else 1
        return 0
    except MatdiffError as e:
        print(f"matdiff: {e.report()}", file=err)
        return 2
    except RecursionError:
        print("matdiff: error: the expression is nested too deeply", file=err)
        return 2
    except Exception as e:  # a bug in matdiff: one line, never a traceback
        print(f"matdiff: internal error: {type(e).__name__}: {e} (please report this expression)", file=err)
        return 2


def main() -> None:
    if sys.argv[1:2] == ["serve"]:  # the local web page; its options are its own (matdiff/web/serve.py)
        from .web.serve import main as serve_main
        sys.exit(serve_main(sys.argv[2:]))
    sys.exit(run())


if __name__ == "__main__":
    main()
