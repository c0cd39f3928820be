"""Round trip of a derivation through the web page's JSON API (``matdiff serve``).

    python benchmarks/bench_web.py [--quick] [--repeats N] [--out PATH] [--no-write]

A real server (uvicorn on 127.0.0.1, a free port, in a thread of this
process, with the page's two worker processes) answers ``POST /api/diff``
for every shared example case, over HTTP with a fresh connection per
request as a browser's first request would make. Two requests per case:
*API*, the object ``--format json`` prints, and *page*, what the page
sends (also the JAX and PyTorch code and the table of symbols). The first
request of a case is its first derivation in that worker (*first* column);
the repeats after it find matdiff's memo caches warm, as a user who changes
a type and comes back does. Median and worst over cases.

With Playwright and a chromium binary (as the browser tests use), the page
itself is timed too (*in the page* column): the case is opened from its
URL, then Ctrl+Enter is pressed in the expression box, and the page's own clock
runs from sending the request to the typeset result shown (KaTeX included).

Target (measured, not asserted): a derivation's round trip under 100 ms.
Skipped, with a message, when the shared cases (../shared/examples/cases.py
or $MATDIFF_CASES) are absent."""
from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

TARGET_MS = 100.0


def cases_path() -> Path:
    env = os.environ.get("MATDIFF_CASES")
    return Path(env) if env else C.ROOT.parent / "shared" / "examples" / "cases.py"


def load_cases(path: Path) -> list[dict]:
    """The shared cases as request bodies for POST /api/diff."""
    spec = importlib.util.spec_from_file_location("matdiff_shared_cases_web", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses need the module registered
    spec.loader.exec_module(mod)
    return [{"id": c.id, "input": c.expr, "variable": c.wrt, "order": c.order, "types": c.types or {}}
            for c in mod.CASES]


class Server:
    """`matdiff serve`'s app on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self) -> None:
        import uvicorn

        from matdiff.web.app import create_app

        self.server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def post(self, body: dict) -> tuple[int, float, dict]:
        """(status, seconds, answer) of one POST /api/diff on a new connection."""
        data = json.dumps(body).encode()
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("POST", "/api/diff", body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        answer = json.loads(resp.read())
        t = time.perf_counter() - t0
        conn.close()
        return resp.status, t, answer


BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Page:
    """Headless Chromium on the served page, or nothing when Playwright or chromium is missing."""

    def __init__(self, port: int) -> None:
        import shutil

        self.base = f"http://127.0.0.1:{port}/"
        self.why = ""
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            self.why = "Playwright not installed"
            return
        if exe is None:
            self.why = "no chromium binary"
            return
        self.pw = sync_playwright().start()
        self.browser = self.pw.chromium.launch(executable_path=exe, args=BROWSER_ARGS)
        self.page = self.browser.new_page()

    def times(self, case: dict, repeats: int) -> list[float] | None:
        """Seconds from request to typeset result, as the page measures them, for each Ctrl+Enter."""
        from urllib.parse import urlencode

        q = {"expr": case["input"], "wrt": case["variable"], "order": case["order"],
             "types": ",".join(f"{k}:{v}" for k, v in (case["types"] or {}).items())}
        pg = self.page
        pg.goto(self.base + "?" + urlencode(q))
        pg.wait_for_function("() => Number(document.body.dataset.answers || 0) > 0")
        out = []
        for i in range(repeats):
            pg.press("#expr", "Control+Enter")
            pg.wait_for_function("n => Number(document.body.dataset.answers || 0) > n", arg=i + 1)
            if pg.evaluate("document.body.dataset.state") != "done":
                return None
            out.append(float(pg.evaluate("document.body.dataset.ms")) / 1e3)
        return out

    def close(self) -> None:
        if not self.why:
            self.browser.close()
            self.pw.stop()


def run(quick: bool = False, repeats: int | None = None, browser: bool = True) -> dict:
    path = cases_path()
    if not path.exists():
        return {"skipped": f"shared example cases not found at {path}"}
    repeats = repeats or (2 if quick else 20)
    cases = load_cases(path)
    if quick:
        cases = cases[:3]
    rows = []
    with Server() as server:
        view = Page(server.port) if browser else None
        for c in cases:
            req = {k: c[k] for k in ("input", "variable", "order", "types")}
            page = dict(req, code=["jax", "torch"], symbols=True)
            status, first, answer = server.post(page)
            row: dict = {"id": c["id"], "order": c["order"], "status": status, "first": first}
            if status != 200:
                row["error"] = answer.get("error", {}).get("message", "")
                rows.append(row)
                continue
            api, pg = [], []
            for _ in range(repeats):  # interleaved rounds: API, page, API, page, …
                api.append(server.post(req)[1])
                pg.append(server.post(page)[1])
            row.update(api_median=C.median(api), api_max=max(api), page_median=C.median(pg),
                       page_max=max(pg + [first]))
            shown = view.times(c, max(3, repeats // 4)) if view is not None and not view.why else None
            if shown:
                row.update(shown_median=C.median(shown), shown_max=max(shown))
            rows.append(row)
        if view is not None:
            view.close()
    ok = [r for r in rows if "error" not in r]
    res = {"rows": rows, "source": f"{path.name} ({len(cases)} cases)", "repeats": repeats,
           "api_median_ms": C.median([r["api_median"] for r in ok]) * 1e3 if ok else float("nan"),
           "page_median_ms": C.median([r["page_median"] for r in ok]) * 1e3 if ok else float("nan"),
           "first_median_ms": C.median([r["first"] for r in ok]) * 1e3 if ok else float("nan"),
           "worst_ms": max([max(r["api_max"], r["page_max"]) for r in ok], default=float("nan")) * 1e3,
           "errors": len(rows) - len(ok),
           "browser": "not run" if view is None else (view.why or "headless Chromium")}
    shown = [r for r in ok if "shown_median" in r]
    if shown:
        res["shown_median_ms"] = C.median([r["shown_median"] for r in shown]) * 1e3
        res["shown_worst_ms"] = max(r["shown_max"] for r in shown) * 1e3
    res["targets"] = {f"median round trip < {TARGET_MS:g} ms": res["page_median_ms"] < TARGET_MS,
                      f"worst round trip < {TARGET_MS:g} ms": res["worst_ms"] < TARGET_MS}
    if shown:
        res["targets"][f"in the page, worst request to typeset result < {TARGET_MS:g} ms"] = \
            res["shown_worst_ms"] < TARGET_MS
    return res


HEADERS = ["case", "order", "first ms", "API median ms", "API max ms", "page median ms", "page max ms",
           "in the page median ms", "in the page max ms"]


def render(res: dict) -> str:
    rows = []
    for r in res["rows"]:
        if "error" in r:
            rows.append([r["id"], r["order"], f"{r['status']}: {r['error']}", "", "", "", "", "", ""])
        else:
            rows.append([r["id"], r["order"], C.fmt_ms(r["first"]), C.fmt_ms(r["api_median"]), C.fmt_ms(r["api_max"]),
                         C.fmt_ms(r["page_median"]), C.fmt_ms(r["page_max"]), C.fmt_ms(r.get("shown_median")),
                         C.fmt_ms(r.get("shown_max"))])
    lines = [C.table(HEADERS, rows), "",
             f"Median over cases: first request **{res['first_median_ms']:.1f} ms**, API "
             f"**{res['api_median_ms']:.1f} ms**, page request **{res['page_median_ms']:.1f} ms**; worst request "
             f"of all: **{res['worst_ms']:.1f} ms**; cases answered with an error: {res['errors']}." +
             (f" In the page (request to typeset result, {res['browser']}): median **{res['shown_median_ms']:.1f} ms**, "
              f"worst **{res['shown_worst_ms']:.1f} ms**." if "shown_median_ms" in res else
              f" In the page: not measured ({res['browser']})."), ""]
    for name, ok in res["targets"].items():
        lines.append(f"- {name}: {'holds' if ok else 'MISSED'}")
    return "\n".join(lines)


def section(res: dict, info: dict) -> str:
    head = ["## Web round trip (`bench_web.py`)", "",
            *C.machine_lines(info),
            f"- cases: {res['source']}; `POST /api/diff` to a real server on 127.0.0.1 (uvicorn, two worker "
            f"processes), a new HTTP connection per request; per case one first request, then {res['repeats']} "
            "of each kind. *API*: the `--format json` object; *page*: what the page asks for (plus JAX and "
            "PyTorch code and the symbols table); *in the page*: from the page's request to its typeset result "
            "in headless Chromium, by the page's own clock.", ""]
    return "\n".join(head) + "\n" + render(res) + "\n"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    C.add_common_args(ap)
    ap.add_argument("--repeats", type=int, default=None, help="timed requests per case and kind")
    ap.add_argument("--no-browser", action="store_true", help="do not time the page in headless Chromium")
    args = ap.parse_args(argv)
    C.start(args, ("numpy", "starlette", "uvicorn"), "bench_web")
    res = run(args.quick, args.repeats, browser=not args.no_browser)
    if "skipped" in res:
        print(f"bench_web: skipped: {res['skipped']}")
        return res
    info = C.machine_info(("numpy", "starlette", "uvicorn"))
    return C.publish(res, section(res, info), args.out, "web", not args.no_write)


if __name__ == "__main__":
    main()
