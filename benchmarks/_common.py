"""Shared pieces of the matdiff benchmarks: machine facts, timing, tables, README sections."""
from __future__ import annotations

import datetime as _dt
import gc
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
README = HERE / "README.md"

# benchmark the checkout, not whatever copy of matdiff is installed
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# -- machine --------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str) -> str:
    """The installed version, read from the package metadata (importing torch or jax takes seconds)."""
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return "not installed"


def blas_info() -> str:
    """Which BLAS NumPy runs and with how many threads (threadpoolctl when installed)."""
    import numpy as np  # noqa: F401 - loads the BLAS so threadpoolctl can see it

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    parts = []
    for p in threadpool_info():
        if p.get("user_api") != "blas":
            continue
        core = p.get("architecture") or "?"
        parts.append(f"{p.get('internal_api')} {p.get('version')} ({core}, {p.get('num_threads')} threads)")
    return "; ".join(parts) or "no BLAS found by threadpoolctl"


def machine_info(libs: Iterable[str] = ("numpy", "sympy")) -> dict[str, str]:
    import matdiff

    info = {
        "date": _dt.date.today().isoformat(),
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "matdiff": matdiff.__version__,
        "load": load_text(),
    }
    for lib in libs:
        info[lib] = _version(lib)
    return info


def load_text() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "?"
    return f"{one:.1f} (1 min), {five:.1f} (5 min)"


def blas_env() -> str:
    keys = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    set_ = [f"{k}={os.environ[k]}" for k in keys if k in os.environ]
    return ", ".join(set_) if set_ else "none of OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE/*_NUM_THREADS set"


def machine_lines(info: dict[str, str]) -> list[str]:
    skip = ("date", "cpu", "cores", "python", "blas", "env", "load", "torch threads")
    libs = ", ".join(f"{k} {v}" for k, v in info.items() if k not in skip)
    lines = [f"- date: {info['date']}",
             f"- machine: {info['cpu']}, {info['cores']} logical cores; load average at the end of the run "
             f"{info['load']} (other work on the machine inflates wall-clock times)",
             f"- Python {info['python']}; {libs}"]
    if "blas" in info:
        lines.append(f"- BLAS: {info['blas']}")
    if "env" in info:
        lines.append(f"- environment: {info['env']}")
    return lines


# -- timing ---------------------------------------------------------------------
def measure(fn: Callable[[], object], repeats: int, setup: Callable[[], object] | None = None) -> list[float]:
    """Wall-clock seconds of ``fn()`` over ``repeats`` runs; ``setup`` runs untimed before each."""
    return measure_both(fn, repeats, setup)[0]


def measure_both(fn: Callable[[], object], repeats: int,
                 setup: Callable[[], object] | None = None) -> tuple[list[float], list[float]]:
    """(wall-clock seconds, this thread's CPU seconds) of ``fn()`` over ``repeats`` runs.

    The CPU time is what a busy machine cannot inflate for single-threaded work."""
    wall, cpu = [], []
    for _ in range(repeats):
        if setup is not None:
            setup()
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        t1, c1 = time.perf_counter(), time.thread_time()
        wall.append(t1 - t0)
        cpu.append(c1 - c0)
    return wall, cpu


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def fmt_ms(seconds: float | None, digits: int = 2) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds * 1e3:.{digits}f}"


def collect() -> None:
    gc.collect()


# -- tables and README ------------------------------------------------------------
def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, columns padded so it also reads well in a terminal."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"

    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


_HEADER = """# matdiff benchmarks

Each section below is written by its script; run one with
`python benchmarks/bench_NAME.py` (`--quick` for a tiny smoke run,
`--out PATH` to write somewhere other than this file).
"""


def publish(res: dict, text: str, out: Path | str, name: str, write: bool) -> dict:
    """Print a benchmark's section, write it into the Markdown file unless told not to,
    and keep it in the result."""
    print(text)
    if write:
        update_section(out, name, text)
    res["markdown"] = text
    return res


def update_section(path: Path | str, name: str, body: str) -> Path:
    """Replace (or append) the section ``name`` of the Markdown file at ``path``."""
    path = Path(path)
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text() if path.exists() else _HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text.endswith("\n") else text + "\n")
    return path


def add_common_args(parser) -> None:
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few repeats (CI smoke)")
    parser.add_argument("--out", default=str(README), help="Markdown file whose section is updated")
    parser.add_argument("--no-write", action="store_true", help="print only; leave the Markdown file alone")
