"""Derive a batch of jobs and print every printed form of each answer as JSON.

    python tests/determinism_probe.py batch  < jobs.json   # all jobs in one process, in the given order
    python tests/determinism_probe.py fresh  < jobs.json   # each job in a process of its own (forked
                                                            # before anything is derived)
    python tests/determinism_probe.py cli    < argvs.json  # command lines, all in one process


A job is ``{"expr": ..., "wrt": name or [names], "then": [names], "types": {...}, "order": k}``;
its outputs are the text, unicode, LaTeX and NumPy forms, the steps (text and LaTeX) and the
notes, or the error it raised. A command line (a list of arguments of ``matdiff``) gives what
the command prints on standard output and standard error, and its exit status.
tests/test_determinism.py compares them across PYTHONHASHSEED
values and across what was derived before a job in the same process."""
from __future__ import annotations

import io
import json
import multiprocessing
import sys

import matdiff
from matdiff.cli import body_in, run, steps_in


def outputs(job: dict) -> dict:
    """Every printed form of one derivative."""
    try:
        r = matdiff.diff(job["expr"], job["wrt"], *job.get("then", ()), types=job.get("types") or None,
                         order=job.get("order", 1))
        out = {fmt: body_in(r, fmt) for fmt in ("text", "unicode", "latex", "numpy")}
        out["notes"] = list(r.notes)
    except Exception as e:  # an error is an output too, and must be as stable as an answer
        return {"error": f"{type(e).__name__}: {e}"}
    for fmt in ("text", "latex"):
        try:
            out[f"{fmt} steps"] = steps_in(r, fmt)
        except Exception as e:
            out[f"{fmt} steps"] = f"{type(e).__name__}: {e}"
    return out


def command(argv: list[str]) -> dict:
    """What ``matdiff *argv`` prints, and its exit status."""
    out, err = io.StringIO(), io.StringIO()
    code = run(argv, out, err)
    return {"stdout": out.getvalue(), "stderr": err.getvalue(), "status": code}


def main(mode: str) -> None:
    jobs = json.load(sys.stdin)
    matdiff.parse("x")  # load the grammar: no expression of the batch has been derived yet
    if mode == "cli":
        results = [command(argv) for argv in jobs]
    elif mode == "fresh":
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(4, maxtasksperchild=1) as pool:
            results = pool.map(outputs, jobs, chunksize=1)
    else:
        results = [outputs(job) for job in jobs]
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "batch")
