"""Shared pieces of the matdiff benchmarks: thread pinning, machine facts, interleaved timing, tables,
README sections.

Importing this module pins the BLAS / OpenMP / XLA thread pools to one thread
(``MATDIFF_BENCH_THREADS=N`` for N) before NumPy or JAX is imported, so runs on a
shared machine are comparable; every script calls :func:`start` after parsing its
arguments, which applies ``--threads`` and prints the machine, versions and thread
settings at the top of the run."""
from __future__ import annotations

import datetime as _dt
import gc
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
README = HERE / "README.md"

# benchmark the checkout, not whatever copy of matdiff is installed
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# -- threads --------------------------------------------------------------------------
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
XLA_THREAD_FLAGS = ("--xla_cpu_multi_thread_eigen=false", "intra_op_parallelism_threads=1")


def default_threads() -> int:
    try:
        return max(1, int(os.environ.get("MATDIFF_BENCH_THREADS", "1")))
    except ValueError:
        return 1


def pin_thread_env(n: int) -> None:
    """Set the thread variables read when NumPy's BLAS / JAX's XLA start (no effect once loaded)."""
    for key in THREAD_VARS:
        os.environ[key] = str(n)
    if n == 1:
        flags = os.environ.get("XLA_FLAGS", "").split()
        flags += [f for f in XLA_THREAD_FLAGS if f not in flags]
        os.environ["XLA_FLAGS"] = " ".join(flags)


THREADS = default_threads()
pin_thread_env(THREADS)
_LIMITER = None


def pin_threads(n: int | None = None) -> int:
    """Limit BLAS / OpenMP pools (threadpoolctl, also after NumPy is loaded) and torch, when loaded, to n threads."""
    global THREADS, _LIMITER
    n = THREADS if n is None else n
    THREADS = n
    pin_thread_env(n)
    import numpy  # noqa: F401 - load the BLAS so threadpoolctl sees it

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        _LIMITER = threadpool_limits(limits=n)
    torch = sys.modules.get("torch")
    if torch is not None:
        pin_torch(n)
    return n


def pin_torch(n: int | None = None) -> None:
    """torch's intra-op (and, when still possible, inter-op) pools to n threads."""
    import torch

    n = THREADS if n is None else n
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:  # only settable before torch's first parallel work
        pass


CPU_PIN: str | None = None
"""How the process is pinned to a CPU (:func:`pin_cpu`), for the header; None when it is not."""


def pin_cpu(cpu: int | None = None) -> str:
    """Run this process, every thread it has and every thread it starts, on one logical CPU
    (the last one it may use, unless told): each implementation timed then gets exactly one
    core, thread pools that the flags above do not confine (XLA's) included, and its CPU time
    cannot exceed its wall-clock time.  Returns what the header reports."""
    global CPU_PIN
    if not hasattr(os, "sched_setaffinity"):
        CPU_PIN = "not pinned to a CPU (no sched_setaffinity here)"
        return CPU_PIN
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[-1] if cpu is None else cpu
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tids = [0]
    for tid in tids:  # on Linux the affinity is per thread: every thread there is, then new ones inherit
        try:
            os.sched_setaffinity(tid, {cpu})
        except OSError:
            pass
    CPU_PIN = f"process pinned to logical CPU {cpu} (of {len(allowed)} it may use)"
    return CPU_PIN


def thread_text() -> str:
    """The thread settings in force: environment, BLAS pools as threadpoolctl sees them, XLA, torch,
    the CPU the process is pinned to."""
    parts = [blas_env()]
    parts.append("BLAS: " + blas_info())
    xla = os.environ.get("XLA_FLAGS")
    parts.append(f"XLA_FLAGS={xla}" if xla else "XLA_FLAGS unset")
    torch = sys.modules.get("torch")
    if torch is not None:
        parts.append(f"torch {torch.get_num_threads()} intra-op / {torch.get_num_interop_threads()} inter-op threads")
    if CPU_PIN:
        parts.append(CPU_PIN)
    return "; ".join(parts)


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
    info["threads"] = thread_text()
    return info


def load_text() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "?"
    return f"{one:.1f} (1 min), {five:.1f} (5 min)"


def blas_env() -> str:
    keys = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", *THREAD_VARS)
    set_ = [f"{k}={os.environ[k]}" for k in keys if k in os.environ]
    return ", ".join(set_) if set_ else "none of OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE/*_NUM_THREADS set"


def machine_lines(info: dict[str, str]) -> list[str]:
    skip = ("date", "cpu", "cores", "python", "blas", "env", "load", "load_when", "torch threads", "threads")
    libs = ", ".join(f"{k} {v}" for k, v in info.items() if k not in skip)
    lines = [f"- date: {info['date']}",
             f"- machine: {info['cpu']}, {info['cores']} logical cores; load average {info.get('load_when', 'at the end of the run')} "
             f"{info['load']} (other work on the machine inflates wall-clock times)",
             f"- Python {info['python']}; {libs}"]
    if "threads" in info:
        lines.append(f"- threads: {info['threads']}")
    else:
        if "blas" in info:
            lines.append(f"- BLAS: {info['blas']}")
        if "env" in info:
            lines.append(f"- environment: {info['env']}")
    return lines


HEADER_LIBS = ("numpy", "sympy", "jax", "jaxlib", "torch", "lark")


def start(args=None, libs: Iterable[str] = HEADER_LIBS, name: str | None = None,
          one_cpu: bool = False) -> dict[str, str]:
    """Apply ``--threads`` (when parsed) and print the machine, load, versions and thread settings
    at the top of a run; returns them (the README sections take theirs at the end of the run).
    ``one_cpu``: with one thread, also pin the process to one CPU (:func:`pin_cpu`; the timing
    runs ask for it, not the ``--quick`` smoke runs, which may run inside a test process)."""
    n = getattr(args, "threads", None)
    n = pin_threads(n)
    if one_cpu and n == 1:
        pin_cpu()
    info = machine_info(libs)
    info["load_when"] = "at the start of the run"
    title = name or Path(sys.argv[0]).stem or "benchmark"
    print(f"# {title}: started {_dt.datetime.now().isoformat(timespec='seconds')}", file=sys.stderr)
    for line in machine_lines(info):
        print("#" + line[1:], file=sys.stderr)
    sys.stderr.flush()
    return info


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


@dataclass
class Timing:
    """Wall-clock and thread-CPU seconds of one implementation over interleaved rounds."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def min(self) -> float:
        return min(self.wall)

    @property
    def max(self) -> float:
        return max(self.wall)

    @property
    def iqr(self) -> tuple[float, float]:
        return quartiles(self.wall)


Impl = "Callable[[], object] | tuple[Callable[[], object] | None, Callable[[], object]]"


def interleaved(impls: Mapping[str, Impl], rounds: int,
                setup: Callable[[], object] | None = None, warmup: int = 1) -> dict[str, Timing]:
    """Time each implementation once per round, ``rounds`` rounds, the order of each round taken
    from a balanced Latin square (:func:`round_orders`).

    Interleaving spreads a burst of other load on the machine over every
    implementation instead of charging it to whichever ran then; the balanced
    orders make each of them run right after every other equally often (a plain
    rotation A B C, B C A, … keeps the cyclic order, so B would always follow A
    and pay for the caches A leaves behind, e.g. JAX's own copies of the inputs).
    ``warmup`` untimed calls of each come first.  An implementation is a function
    or a pair (its own setup, function); a setup (``setup`` for all, or its own)
    runs untimed before every timed call."""
    names = list(impls)
    pairs = {n: impls[n] if isinstance(impls[n], tuple) else (None, impls[n]) for n in names}
    for _ in range(warmup):
        for name in names:
            own, fn = pairs[name]
            if own is not None:
                own()
            fn()
    out = {name: Timing() for name in names}
    collect()
    orders = round_orders(len(names))
    for r in range(rounds):
        for name in (names[i] for i in orders[r % len(orders)]):
            own, fn = pairs[name]
            if setup is not None:
                setup()
            if own is not None:
                own()
            c0, t0 = time.thread_time(), time.perf_counter()
            fn()
            t1, c1 = time.perf_counter(), time.thread_time()
            out[name].wall.append(t1 - t0)
            out[name].cpu.append(c1 - c0)
    return out


def round_orders(n: int) -> list[list[int]]:
    """Orders of 0 … n-1 in which every i runs right after every other j equally often (a Williams
    design: 0, 1, n-1, 2, n-2, … shifted by each k; for odd n also each order reversed)."""
    if n <= 1:
        return [list(range(n))]
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(i + k) % n for i in first] for k in range(n)]
    return rows if n % 2 == 0 else rows + [row[::-1] for row in rows]


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def quartiles(xs: Sequence[float]) -> tuple[float, float]:
    """First and third quartiles (the interquartile range); the min and max for fewer than 4 values."""
    xs = sorted(xs)
    if len(xs) < 4:
        return xs[0], xs[-1]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[2]


def fmt_spread(xs: Sequence[float], digits: int = 2, scale: float = 1e3) -> str:
    """``median [q1–q3]`` in ms (scale 1e3): the median and the interquartile range."""
    if not xs:
        return "n/a"
    lo, hi = quartiles(xs)
    return f"{statistics.median(xs) * scale:.{digits}f} [{lo * scale:.{digits}f}–{hi * scale:.{digits}f}]"


def fmt_ms(seconds: float | None, digits: int = 2) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds * 1e3:.{digits}f}"


def collect() -> None:
    gc.collect()


def clear_matdiff_caches() -> None:
    """Empty matdiff's memo caches (not the parser, which is loaded once per process), so that
    every timed derivation does the whole work, as a new expression would."""
    for name, mod in list(sys.modules.items()):
        if not name.startswith("matdiff."):
            continue
        for key, obj in list(vars(mod).items()):
            if name == "matdiff.frontend.syntax" and key == "_parser":
                continue
            clear = getattr(obj, "cache_clear", None)
            if callable(clear) and getattr(obj, "__module__", None) == name:
                clear()


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
    parser.add_argument("--threads", type=int, default=None,
                        help=f"BLAS / OpenMP / torch threads (default {THREADS}: $MATDIFF_BENCH_THREADS or 1)")
    parser.add_argument("--out", default=str(README), help="Markdown file whose section is updated")
    parser.add_argument("--no-write", action="store_true", help="print only; leave the Markdown file alone")
