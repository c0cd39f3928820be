"""The command line (SPEC §4): ``matdiff EXPR WRT [options]``.

Standard output holds the result alone; notes, steps and the check report go
to standard error (or into the JSON object).  Exit status: 0 success, 1 when
--check finds a mismatch, 3 when it could not check, 2 on bad input — always
a one-line message with a caret, never a traceback."""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import signal
import sys

from . import __version__
from .api import check, diff
from .indices.result import IndexResult
from .indices.stage import as_index_result
from .present.index_form import IndexForm
from .errors import MatdiffError, UsageError
from .frontend.request import split_variables, unused_declarations
from .present.jupyter import latex_steps
from .present.printing import to_unicode
from .present.steps import derivation_lines
from .progress import Progress, derivation_label
from .result import Result
from .results import Results

FORMATS = ("text", "unicode", "latex", "index", "numpy", "jax", "torch", "json")
DECLARABLE = ("scalar", "vector", "matrix", "symmetric", "probability", "tensor", "function", "scalar function")
DECLARE_HELP = {"function": " (unspecified smooth functions, element-wise: f(u), f'(u))",
                "scalar function": " (unspecified smooth functions of one array to a scalar: g(u), grad_g(u))",
                "tensor": " (arrays of order 3 or more, used with subscripts: Phi[:,i,:])"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # bad flags: exit 2 with one line, like every bad input
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="matdiff", description="Closed-form derivatives of matrix expressions.",
                epilog="example: matdiff \"beta*sum(abs(X'X - I))\" X --steps --check")
    p.add_argument("expr", help="the expression, e.g. \"tr(A*X*B)\"")
    p.add_argument("wrt", help="the variable to differentiate by; several: W,b (one gradient each)")
    p.add_argument("--order", type=int, default=None, help="K-th derivative: 1 (default), 2 the Hessian, "
                   "3 and higher a tensor in index notation")
    p.add_argument("--then", action="append", default=[], metavar="NAME",
                   help="mixed derivative: differentiate the result again by NAME (repeatable)")
    p.add_argument("--hessian", action="store_true", help="same as --order 2")
    p.add_argument("--gauss-newton", action="store_true",
                   help="for f = L(N(x)): the Gauss-Newton part J_N' H_L J_N of the Hessian")
    for kind in DECLARABLE:
        p.add_argument(f"--{kind.replace(' ', '-')}", action="append", default=[], metavar="NAMES",
                       help=f"comma-separated names declared {kind}" + DECLARE_HELP.get(kind, ""))
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--steps", action="store_true", help="show the derivation, one rewrite per line")
    p.add_argument("--check", action="store_true", help="verify numerically on random inputs")
    p.add_argument("--against", action="append", default=[], metavar="ANSWER",
                   help="verify a claimed answer instead of deriving one (once per variable, in order); "
                        "exit 0 ok, 1 mismatch, 3 could not check")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    return p


def _types(args) -> dict[str, str]:
    out: dict[str, str] = {}
    for kind in DECLARABLE:
        for group in getattr(args, kind.replace(" ", "_")):
            for name in group.split(","):
                name = name.strip()
                if name and out.setdefault(name, kind) != kind:
                    raise UsageError(f"'{name}' is declared both {out[name]} and {kind}")
    return out


def _order_flag(args) -> str:
    """The flag that set the order, as the user wrote it."""
    return "--hessian" if args.hessian else "--gauss-newton" if args.gauss_newton else f"--order {args.order}"


def _order(args) -> int:
    """The order from --order, --hessian and --gauss-newton (both mean order 2): flags that
    disagree are a usage error, never one of them silently ignored."""
    implied = [flag for flag in ("hessian", "gauss_newton") if getattr(args, flag)]
    if implied and args.order not in (None, 2):
        flag = "--" + implied[0].replace("_", "-")
        raise UsageError(f"{flag} is a second derivative: it cannot be combined with --order {args.order}")
    return 2 if implied else 1 if args.order is None else args.order


VALUE_OPTIONS = {"--order", "--then", "--format", "--against"} | {"--" + k.replace(" ", "-") for k in DECLARABLE}


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


def index_form(r) -> str:
    """The answer entry by entry (SPEC §6), for index expressions and matrix ones alike."""
    if isinstance(r, IndexResult):
        return r.index()
    if isinstance(r, Results):  # several variables: one gradient each, in their order
        return "\n".join(index_form(r[name]) for name in r)
    if isinstance(getattr(r, "index", None), IndexForm):  # a higher derivative: already in indices
        return r.text
    return as_index_result(r).index()


def run(argv: list[str] | None = None, out=None, err=None) -> int:
    """Standard output holds the result alone; notes, steps and the check report
    go to standard error, or into the object under ``--format json`` (SPEC §4)."""
    out = out or sys.stdout
    err = err or sys.stderr
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--version" in argv:
        print(f"matdiff {__version__}", file=out)
        return 0
    progress = Progress(err)  # a line on stderr when a phase runs past a second
    try:
        args = build_parser().parse_args(_reorder(argv))
        order = _order(args)
        types = _types(args)
        names = split_variables(args.wrt)
        wrt = names if len(names) > 1 else args.wrt
        if args.gauss_newton and isinstance(wrt, list):
            raise UsageError("--gauss-newton takes one variable")
        if args.then and order != 1:
            raise UsageError(f"give either --then NAME (a mixed derivative) or {_order_flag(args)}, not both")
        if args.then and isinstance(wrt, list):
            raise UsageError("--then takes one variable before it, not a list")
        if args.against:
            progress.phase("checking the answer")
            return run_against(args, wrt, types, order, out, err, progress)
        progress.phase(derivation_label(order, len(args.then), isinstance(wrt, list)))
        r = diff(args.expr, wrt, *args.then, types=types, order=order)
        if args.gauss_newton:
            r = r.gauss_newton
        notes = list(r.notes) + unused_declarations(types, r)
        if args.check:
            progress.phase("checking numerically")
        report = r.check() if args.check else None
        progress.phase("writing the answer")
        if args.format == "json":
            data = dict(r.to_dict(), notes=notes)
            if report is not None:
                data["check"] = report_dict(report)
            text = json.dumps(data, indent=2, ensure_ascii=False)
            progress.stop()
            print(text, file=out)
        else:
            steps = steps_in(r, args.format) if args.steps else []
            body = body_in(r, args.format)
            progress.stop()
            for line in steps:
                print(line, file=err)
            print(body, file=out)
            for note in notes:
                print(f"note: {note}", file=err)
            if report is not None:
                print(report, file=err)
        if report is None or report.ok:
            return 0
        return 3 if not _checked(report) else 1
    except BrokenPipeError:
        raise
    except MatdiffError as e:
        print(f"matdiff: {e.report()}", file=err)
        return 2
    except RecursionError:
        print("matdiff: error: the expression is nested too deeply", file=err)
        return 2
    except Exception as e:  # a bug in matdiff: one line, never a traceback
        print(f"matdiff: internal error: {type(e).__name__}: {e} (please report this expression)", file=err)
        return 2
    finally:
        progress.stop()


def body_in(r, fmt: str) -> str:
    """The result alone, in the chosen format."""
    if fmt in ("numpy", "jax", "torch"):
        return r.to_code(fmt)
    if fmt == "index":
        return index_form(r)
    return {"text": r.text, "unicode": r.unicode(), "latex": r.latex()}[fmt]


def steps_in(r, fmt: str) -> list[str]:
    """The derivation in the chosen format (code formats, and programs, show the text)."""
    single = isinstance(r, Result) and r.rule_steps
    if fmt == "latex" and single:
        return [f"{tex}    [{label}]" if tex and label else tex or label for tex, label in latex_steps(r)]
    return derivation_lines(r, printer=to_unicode) if fmt == "unicode" and single else list(r.steps)


def _checked(report) -> bool:
    """False when the check could not be made (overflow, no usable random point): exit 3, not 1."""
    if hasattr(report, "status"):
        return report.status != "could not check"
    reports = getattr(report, "reports", {"": report})
    return any(not r.ok and r.trials > 0 for r in reports.values())


def run_against(args, wrt, types: dict[str, str], order: int, out, err, progress: Progress) -> int:
    """``--against ANSWER``: the report on standard error (in the object under ``--format
    json``); exit 0 ok, 1 mismatch, 3 could not check (SPEC §4)."""
    if args.then or args.gauss_newton or args.steps or args.format not in ("text", "unicode", "json"):
        raise UsageError("--against checks the answer given; it takes no --then, --gauss-newton, --steps "
                         "or code format")
    several = isinstance(wrt, list)
    if len(args.against) != (len(wrt) if several else 1):
        raise UsageError(f"give --against once for each variable ({len(wrt) if several else 1}), in order")
    report = check(args.expr, wrt, args.against if several else args.against[0], types=types, order=order)
    progress.stop()
    if args.format == "json":
        print(json.dumps({"input": args.expr, "variables": wrt if several else [wrt],
                          "answers": args.against, "order": order, "status": report.status,
                          "check": report_dict(report)}, indent=2, ensure_ascii=False), file=out)
    else:
        print(report, file=err)
    return report.exit_code


def report_dict(report) -> dict:
    """The check report as JSON-ready values (NaN, which JSON lacks, as null); one
    entry per variable for several."""
    err = report.max_rel_error
    out = {"ok": bool(report.ok), "max_rel_error": None if not math.isfinite(err) else float(err),
           "report": str(report)}
    if hasattr(report, "status"):
        out["status"] = report.status
    if hasattr(report, "reports"):
        out["variables"] = {v: report_dict(r) for v, r in report.reports.items()}
    else:
        out.update(trials=report.trials, dims=dict(report.dims))
    return out


def main() -> None:
    """The console script: a closed pipe (``matdiff … | head -c1``) ends quietly, as in other Unix tools."""
    if sys.argv[1:2] == ["serve"]:  # the local web page; its options are its own (matdiff/web/serve.py)
        from .web.serve import main as serve_main
        sys.exit(serve_main(sys.argv[2:]))
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    gc.freeze()  # what is loaded by now lives as long as the process: no collection need scan it
    try:
        code = run()
        sys.stdout.flush()
    except KeyboardInterrupt:  # Ctrl-C: one line and the shell's status for SIGINT, no traceback
        print("matdiff: interrupted", file=sys.stderr)
        code = 128 + signal.SIGINT
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        code = 128 + 13
    sys.exit(code)


if __name__ == "__main__":
    main()
