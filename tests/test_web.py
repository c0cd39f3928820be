"""The JSON API and the server of ``matdiff serve`` (matdiff/web), through Starlette's test client.

Every error path answers JSON with a 4xx (or 5xx for a stopped derivation)
and never a traceback; the limits hold; a derivation that runs away is
killed and the server goes on serving; concurrent requests get their own
answers. The page itself is tested in a browser in test_web_browser.py."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx2")

from starlette.testclient import TestClient  # noqa: E402

import matdiff  # noqa: E402
from matdiff.cli import run  # noqa: E402
from matdiff.web import derive  # noqa: E402
from matdiff.web.app import STATIC, create_app  # noqa: E402
from matdiff.web.pool import WorkerPool  # noqa: E402

SEED = {"input": "beta*sum(abs(X'X - I))", "variable": "X"}
GAUSS = {"input": "-logdet(S)/2 - (x-mu)'*inv(S)*(x-mu)/2", "variable": "S", "types": {"S": "symmetric", "mu": "vector"}}
HERE = __name__  # the worker processes import the runners below by this name


def slow_job(job: derive.Job):
    """A derivation that runs away when the expression starts with 'slow', and one that
    takes its worker down when it starts with 'crash'; others derive as usual."""
    if job.input.startswith("slow"):
        time.sleep(120)
    if job.input.startswith("crash"):
        os._exit(3)
    if job.input.startswith("hungry"):
        raise MemoryError
    if job.input.startswith("limits"):
        import resource

        return 200, {"address_space": resource.getrlimit(resource.RLIMIT_AS)[0]}
    return derive.run_job(job)


def client_for(pool: WorkerPool) -> TestClient:
    return TestClient(create_app(pool), base_url="http://127.0.0.1")


@pytest.fixture(scope="module")
def client():
    with client_for(WorkerPool(size=2, timeout=20.0)) as c:
        yield c


@pytest.fixture(scope="module")
def slow_client():
    """One worker, a 1 s limit, and the runaway derivation of slow_job."""
    with client_for(WorkerPool(size=1, timeout=1.0, wait=10.0, runner=f"{HERE}:slow_job")) as c:
        yield c


def post(c: TestClient, body, path: str = "/api/diff", **kw):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return c.post(path, content=data, headers=kw.pop("headers", {"Content-Type": "application/json"}), **kw)


def cli_json(expr: str, wrt: str, *flags: str) -> dict:
    out, err = io.StringIO(), io.StringIO()
    assert run([expr, wrt, "--format", "json", *flags], out=out, err=err) == 0, err.getvalue()
    return json.loads(out.getvalue())


# -- the page and its files ------------------------------------------------------------
def test_page_and_static_files(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "/static/katex/katex.min.js" in r.text and "/static/app.js" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for path in ("/static/app.js", "/static/style.css", "/static/katex/katex.min.js",
                 "/static/katex/katex.min.css", "/static/katex/fonts/KaTeX_Main-Regular.woff2",
                 "/static/katex/LICENSE"):
        assert client.get(path).status_code == 200, path
    assert client.get("/static/nothing.js").status_code == 404
    assert client.get("/api/health").json()["version"] == matdiff.__version__


def test_every_font_the_stylesheet_names_is_shipped():
    css = (STATIC / "katex" / "katex.min.css").read_text()
    import re

    woff2 = set(re.findall(r"fonts/(KaTeX_[\w-]+\.woff2)", css))
    assert woff2 and all((STATIC / "katex" / "fonts" / f).exists() for f in woff2)


# -- derivations -----------------------------------------------------------------------
@pytest.mark.parametrize("expr,wrt,flags", [
    ("beta*sum(abs(X'X - I))", "X", []),
    ("x'*A*x", "x", ["--hessian"]),
    ("softmax(z)", "z", []),
    ("-logdet(S)/2 - (x-mu)'*inv(S)*(x-mu)/2", "S", ["--symmetric", "S", "--vector", "mu"]),
])
def test_diff_answers_what_the_cli_prints(client, expr, wrt, flags):
    want = cli_json(expr, wrt, *flags)
    types = {flags[i + 1]: flags[i][2:] for i in range(0, len(flags) - 1, 2) if flags[i] != "--hessian"}
    body = {"input": expr, "variable": wrt, "order": want["order"], "types": types}
    r = post(client, body)
    assert r.status_code == 200, r.text
    assert r.json() == want


def test_diff_takes_what_the_cli_prints(client):
    """The object --format json prints, posted back as it is, gives the same object."""
    printed = cli_json("norm2(A*x - b)^2", "x")
    r = post(client, printed)
    assert r.status_code == 200 and r.json() == printed


def test_code_and_symbols_on_request(client):
    r = post(client, dict(GAUSS, code=["jax", "torch", "numpy"], symbols=True)).json()
    assert set(r["code"]) == {"jax", "torch", "numpy"}
    assert "import jax" in r["code"]["jax"] and "import torch" in r["code"]["torch"]
    assert r["code"]["numpy"] == r["numpy"]
    table = {s["name"]: s for s in r["symbols"]}
    assert table["S"] == {"name": "S", "type": "symmetric", "declared": True, "shape": ["m", "m"]}
    assert table["mu"]["type"] == "vector" and table["mu"]["declared"]
    assert table["x"] == {"name": "x", "type": "vector", "declared": False, "shape": ["m", "1"]}
    seed = {s["name"]: s["type"] for s in post(client, dict(SEED, symbols=True)).json()["symbols"]}
    assert seed == {"beta": "scalar", "X": "matrix"}


def test_examples_menu_all_derive(client):
    examples = client.get("/api/examples").json()["examples"]
    assert len(examples) >= 5
    inputs = {e["input"] for e in examples}
    assert {"beta*sum(abs(X'X - I))", "norm2(A*x - b)^2", "-sum(log(sigmoid(y .* (X*w))))",
            "-y'*log(softmax(z))", GAUSS["input"], BACKPROP, "x'*A*y", "sum(x .^ 4)", "g(A*x)"} <= inputs
    kinds = set()
    for e in examples:
        r = post(client, {k: e[k] for k in ("input", "variable", "order", "then", "types")})
        assert r.status_code == 200, (e, r.text)
        body = r.json()
        if isinstance(e["variable"], list):
            assert body["variables"] == e["variable"] and set(body["results"]) == set(e["variable"])
            kinds.add("several")
        else:
            assert body["order"] == e["order"] + len(e["then"])
            kinds.add(body["kind"])
    assert {"several", "mixed", "higher", "gradient", "hessian", "jacobian"} <= kinds


# -- several variables, programs, mixed and higher derivatives, declared functions ----------
BACKPROP = "z = W*x + b; y = sigmoid(z); L = 0.5*norm2(y - t)^2 + lambda/2*norm2(W)^2"
PHI = "beta*sum_i(sum(abs(Phi[:,i,:]'*Phi[:,i,:] - I)))"
TWO_LAYERS = "h = tanh(W1*x + b1)\ny = W2*h + b2\nL = 0.5*norm2(y - t)^2"


@pytest.mark.parametrize("expr,wrt,flags,body", [
    ("f(x)'*A*y", "x,y", ["--function", "f"], {"variable": ["x", "y"], "types": {"f": "function"}}),
    (BACKPROP, "W,b", [], {"variable": ["W", "b"]}),
    (BACKPROP, "W,b", [], {"variable": "W,b"}),
    (PHI, "Phi", [], {"variable": "Phi"}),
    (PHI, "Phi[:,a,b]", [], {"variable": "Phi[:,a,b]"}),
    (TWO_LAYERS, "W1,b1,W2,b2", [], {"variable": ["W1", "b1", "W2", "b2"]}),
    (TWO_LAYERS, "W2", [], {"variable": "W2"}),
    ("x'*A*y", "x", ["--then", "y"], {"variable": "x", "then": ["y"]}),
    ("tr(X*Y)", "X", ["--then", "Y"], {"variable": "X", "then": "Y"}),
    ("sum(x .^ 4)", "x", ["--order", "3"], {"variable": "x", "order": 3}),
    ("logsumexp(A*x)", "x", ["--order", "3"], {"variable": "x", "order": 3}),
    ("g(A*x)", "x", ["--scalar-function", "g"], {"variable": "x", "types": {"g": "scalar function"}}),
    ("x'*A*x", "x", ["--symmetric", "A", "--vector", "q"], {"variable": "x", "types": {"A": "symmetric", "q": "vector"}}),
])
def test_the_new_derivatives_answer_what_the_cli_prints(client, expr, wrt, flags, body):
    """Several variables, programs, mixed and third derivatives, declared functions: the API's
    answer is the object `--format json` prints for the same input, notes included."""
    want = cli_json(expr, wrt, *flags)
    r = post(client, dict(body, input=expr))
    assert r.status_code == 200, r.text
    assert r.json() == want
    # and what it prints, posted back with the declarations (which it does not print), gives it again
    assert post(client, dict(want, types=body.get("types", {}))).json() == want


def test_several_variables_answer_each_gradient_numerically(client):
    """The page's code for the backprop program returns both gradients; they agree with central
    differences of the program written by hand in NumPy (m ≠ n)."""
    import numpy as np

    body = post(client, {"input": BACKPROP, "variable": ["W", "b"], "code": ["torch"]}).json()
    assert body["variables"] == ["W", "b"] and body["function"] == "L"
    assert body["text"].splitlines()[0].startswith("∂L/∂W = ") and body["text"].splitlines()[1].startswith("∂L/∂b = ")
    assert r"\frac{\partial L}{\partial W}" in body["latex"] and r"\frac{\partial L}{\partial b}" in body["latex"]
    assert "backward pass (adjoints, last to first):" in body["steps"]
    namespace: dict = {}
    exec(compile(body["numpy"], "<page code>", "exec"), namespace)  # the generated code, not user text
    rng = np.random.default_rng(1)
    m, n = 3, 5
    W, x, b, t, lam = rng.normal(size=(m, n)), rng.normal(size=n), rng.normal(size=m), rng.normal(size=m), 0.7

    def L(W, b):
        y = 1 / (1 + np.exp(-(W @ x + b)))
        return 0.5 * np.sum((y - t) ** 2) + lam / 2 * np.sum(W ** 2)

    def fd(f, a, h=1e-6):
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            e = np.zeros_like(a)
            e[i] = h
            g[i] = (f(a + e) - f(a - e)) / (2 * h)
        return g

    got = namespace["gradients"](W=W, x=x, b=b, t=t, **{"lambda": lam})
    assert np.allclose(got["W"], fd(lambda w: L(w, b), W), atol=1e-7)
    assert np.allclose(np.ravel(got["b"]), fd(lambda c: L(W, c), b), atol=1e-7)
    assert "import torch" in body["code"]["torch"]


def test_check_of_several_variables_and_higher_orders(client):
    r = post(client, {"input": TWO_LAYERS, "variable": ["W1", "b1", "W2", "b2"]}, "/api/check").json()
    assert r["ok"] is True and set(r["variables"]) == {"W1", "b1", "W2", "b2"}
    assert all(v["ok"] and v["max_rel_error"] < 1e-5 for v in r["variables"].values())
    assert r["text"].count("check ok") == 4
    for body in ({"input": "sum(x .^ 4)", "variable": "x", "order": 3},
                 {"input": "x'*A*y", "variable": "x", "then": ["y"]},
                 {"input": "g(A*x)", "variable": "x", "types": {"g": "scalar function"}},
                 {"input": "sum(f(A*x))", "variable": "x", "types": {"f": "function"}}):
        r = post(client, body, "/api/check").json()
        assert r["ok"] is True, (body, r)


def test_what_the_api_refuses_is_said_by_the_api(client):
    """Orders with several variables, a then with an order, an index type not (yet) taken:
    422 with matdiff's own message."""
    cases = [({"input": BACKPROP, "variable": ["W", "b"], "order": 2}, (BACKPROP, ["W", "b"]), {"order": 2}),
             ({"input": "x'*A*y", "variable": "x", "then": ["y"], "order": 2}, ("x'*A*y", "x", "y"), {"order": 2}),
             ({"input": "x'*A*x", "variable": "x", "types": {"A": "tensor"}}, ("x'*A*x", "x"), {"types": {"A": "tensor"}}),
             ({"input": "sum(x)", "variable": "x", "order": 6}, ("sum(x)", "x"), {"order": 6})]
    for body, args, kw in cases:
        r = post(client, body)
        try:
            matdiff.diff(*args, **kw)
        except matdiff.MatdiffError as e:
            assert r.status_code == 422 and r.json()["error"]["message"] == e.message, body
        else:
            assert r.status_code == 200, body


def test_symbols_of_programs_and_declared_functions(client):
    table = post(client, {"input": BACKPROP, "variable": "W,b", "symbols": True}).json()["symbols"]
    assert [s["name"] for s in table] == ["W", "x", "b", "t", "lambda"]  # not z, y, L: the program defines them
    assert {s["name"]: s["type"] for s in table}["lambda"] == "scalar"
    # g(A*x) before g is declared: the names it is written with, g called like a function, no types
    r = post(client, {"input": "g(A*x)", "variable": "x", "symbols": True})
    assert r.status_code == 422 and "'g' is not a function" in r.json()["error"]["message"]
    rows = {s["name"]: s for s in r.json()["symbols"]}
    assert rows["g"]["called"] is True and rows["g"]["type"] is None and rows["A"]["called"] is False
    # declared a scalar function: the table says so, and the derivative is its gradient
    r = post(client, {"input": "g(A*x)", "variable": "x", "types": {"g": "scalar function"}, "symbols": True}).json()
    rows = {s["name"]: s for s in r["symbols"]}
    assert rows["g"] == {"name": "g", "type": "scalar function", "declared": True, "shape": []}
    assert rows["x"]["type"] == "vector" and r["text"] == "A'*grad_g(A*x)"
    r = post(client, {"input": "sum(f(A*x))", "variable": "x", "types": {"f": "function"}, "symbols": True}).json()
    assert {s["name"]: s["type"] for s in r["symbols"]}["f"] == "function" and r["text"] == "A'*f'(A*x)"
    # a declared name the expression lacks is said, as on the command line
    r = post(client, {"input": "x'*x", "variable": "x", "types": {"h": "function"}}).json()
    assert "'h' is declared function but does not occur in the expression" in r["notes"]


def test_check(client):
    r = post(client, SEED, "/api/check")
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True and body["text"].startswith("check ok") and body["max_rel_error"] < 1e-5
    r = post(client, dict(GAUSS, order=2), "/api/check").json()
    assert r["ok"] is True, r


# -- errors: the request -----------------------------------------------------------------
BAD_REQUESTS = [
    (b"{not json", 400, "not JSON"),
    (b"\xff\xfe", 400, "not JSON"),
    ([1, 2], 400, "JSON object"),
    ({"variable": "x"}, 400, "missing field: input"),
    ({}, 400, "missing fields: input, variable"),
    ({"input": "x'x"}, 400, "missing field: variable"),
    ({"input": 3, "variable": "x"}, 400, "'input' must be a string, got a number"),
    ({"input": "x'x", "variable": 3}, 400, "'variable' must be a string or an array of strings, got a number"),
    ({"input": "x'x", "variable": ["x", 1]}, 400, "'variable' must be a string or an array of strings"),
    ({"input": "x'x", "variable": []}, 400, "'variable' has an empty name"),
    ({"input": "x'x", "variable": "x,,y"}, 400, "'variable' has an empty name"),
    ({"input": "x'x", "variable": "x", "then": {"y": 1}}, 400, "'then' must be a string or an array of strings"),
    ({"input": "x'x", "variable": [f"x{i}" for i in range(51)]}, 413, "the limit is 50"),
    ({"input": "x'x", "variable": "x", "order": 7}, 400, "order must be between 1 and 6"),
    ({"input": "x'x", "variable": "x", "order": "2"}, 400, "'order' must be an integer, got a string"),
    ({"input": "x'x", "variable": "x", "order": True}, 400, "'order' must be an integer"),
    ({"input": "x'x", "variable": "x", "order": 1.5}, 400, "'order' must be an integer"),
    ({"input": "x'x", "variable": "x", "order": 0}, 400, "order must be between 1 and"),
    ({"input": "x'x", "variable": "x", "order": 10 ** 6}, 400, "order must be between 1 and"),
    ({"input": "x'x", "variable": "x", "types": ["x"]}, 400, "'types' must be an object"),
    ({"input": "x'x", "variable": "x", "types": {"x": 1}}, 400, "'types.x' must be a type name"),
    ({"input": "x'x", "variable": "x", "code": "jax"}, 400, "'code' must be an array"),
    ({"input": "x'x", "variable": "x", "code": ["fortran"]}, 400, "unknown code target 'fortran'"),
    ({"input": "x'x", "variable": "x", "symbols": "yes"}, 400, "'symbols' must be true or false"),
    ({"input": "   ", "variable": "x"}, 400, "the expression is empty"),
    ({"input": "x" * (derive.MAX_INPUT + 1), "variable": "x"}, 413, "the limit is 2000"),
    ({"input": "x'x", "variable": "x" * 101}, 413, "the limit is 100"),
    ({"input": "x'x", "variable": "x", "types": {f"a{i}": "scalar" for i in range(101)}}, 413, "the limit is 100"),
]


@pytest.mark.parametrize("body,status,message", BAD_REQUESTS, ids=[m for _, _, m in BAD_REQUESTS])
@pytest.mark.parametrize("path", ["/api/diff", "/api/check"])
def test_bad_requests(client, body, status, message, path):
    r = post(client, body, path)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert message in err["message"] and "Traceback" not in r.text


def test_body_limit(client):
    r = post(client, {"input": "x'x", "variable": "x", "pad": "x" * derive.MAX_BODY})
    assert r.status_code == 413 and r.json()["error"]["kind"] == "limit"


def test_content_type_and_method(client):
    r = post(client, SEED, headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/json" in r.json()["error"]["message"]
    r = client.get("/api/diff")
    assert r.status_code == 405 and "POST" in r.json()["error"]["message"]
    assert post(client, SEED, headers={"Content-Type": "application/json; charset=utf-8"}).status_code == 200


def test_only_local_host_names_are_served():
    """A page elsewhere cannot reach the server through a name that resolves to 127.0.0.1."""
    with TestClient(create_app(WorkerPool(size=1)), base_url="http://attacker.example") as c:
        assert c.get("/").status_code == 400
    with TestClient(create_app(WorkerPool(size=1)), base_url="http://localhost:8765") as c:
        assert c.get("/").status_code == 200


# -- errors: the expression ----------------------------------------------------------------
@pytest.mark.parametrize("expr,wrt,kind,column,width", [
    ("x + A", "x", "shape error", 1, 5),
    ("x'*A*x)", "x", "syntax error", 7, 1),
    ("x + * y", "x", "syntax error", 5, 1),
    ("trace(X)", "X", "unknown name", 1, 5),
])
def test_expression_errors_carry_their_columns(client, expr, wrt, kind, column, width):
    r = post(client, {"input": expr, "variable": wrt})
    assert r.status_code == 422
    err = r.json()["error"]
    assert (err["kind"], err["column"], err["width"], err["text"]) == (kind, column, width, expr)
    try:
        matdiff.diff(expr, wrt)
    except matdiff.MatdiffError as e:
        assert err["message"] == e.message and err["report"] == str(e)


def test_usage_errors_from_the_api(client):
    r = post(client, {"input": "x'x", "variable": "x", "types": {"x": "banana"}, "symbols": True})
    assert r.status_code == 422
    body = r.json()
    assert body["error"]["kind"] == "usage error" and "unknown type 'banana'" in body["error"]["message"]
    assert "column" not in body["error"] and body["symbols"] is None
    r = post(client, {"input": "x'x", "variable": "sum"})
    assert r.status_code == 422 and "is a function" in r.json()["error"]["message"]


def test_a_derivation_that_runs_away_is_stopped(slow_client):
    t0 = time.monotonic()
    r = post(slow_client, {"input": "slow(x)", "variable": "x"})
    assert r.status_code == 504
    err = r.json()["error"]
    assert err["kind"] == "timeout" and "longer than 1 s" in err["message"]
    assert time.monotonic() - t0 < 10
    # the only worker was killed; its replacement answers the next request
    r = post(slow_client, SEED)
    assert r.status_code == 200 and r.json()["text"] == "2*beta*X*sign(X'X - I)"
    assert slow_client.app.state.pool.killed == 1


def test_a_worker_that_dies_is_replaced(slow_client):
    before = slow_client.app.state.pool.killed
    r = post(slow_client, {"input": "crash(x)", "variable": "x"})
    assert r.status_code == 500 and r.json()["error"]["kind"] == "internal error"
    assert post(slow_client, SEED).status_code == 200
    assert slow_client.app.state.pool.killed == before + 1


def test_worker_memory_is_limited(slow_client):
    from matdiff.web.pool import MEMORY_LIMIT

    r = post(slow_client, {"input": "limits(x)", "variable": "x"})
    assert r.json()["address_space"] == MEMORY_LIMIT
    r = post(slow_client, {"input": "hungry(x)", "variable": "x"})
    assert r.status_code == 413 and "more memory" in r.json()["error"]["message"]
    assert post(slow_client, SEED).status_code == 200


def test_busy_when_every_worker_is_taken():
    pool = WorkerPool(size=1, timeout=1.5, wait=0.3, runner=f"{HERE}:slow_job")
    with client_for(pool) as c:
        slow = threading.Thread(target=post, args=(c, {"input": "slow(x)", "variable": "x"}))
        slow.start()
        time.sleep(0.3)
        r = post(c, SEED)
        assert r.status_code == 503 and r.json()["error"]["kind"] == "busy"
        slow.join()
        deadline = time.monotonic() + 20  # the killed worker's replacement is starting
        while (status := post(c, SEED).status_code) == 503 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status == 200


def test_concurrent_requests_get_their_own_answers(client):
    cases = [(f"tr(A{i}*X)", "X", f"A{i}'") for i in range(1, 7)] + [(f"x'*b{i}", "x", f"b{i}") for i in range(1, 7)]
    answers: dict[int, tuple[int, str]] = {}

    def ask(i: int) -> None:
        expr, wrt, _ = cases[i % len(cases)]
        r = post(client, {"input": expr, "variable": wrt})
        answers[i] = (r.status_code, r.json().get("text"))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(36)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 36
    for i, (status, text) in answers.items():
        assert status == 200 and text == cases[i % len(cases)][2]


# -- the command ---------------------------------------------------------------------------
def test_serve_usage_errors(capsys):
    from matdiff.web.serve import main

    assert main(["--port", "70000"]) == 2
    with pytest.raises(SystemExit) as e:
        main(["--bogus"])
    assert e.value.code == 2
    assert "usage error" in capsys.readouterr().err
    assert main.__module__ == "matdiff.web.serve"


def test_serve_without_the_web_extra(monkeypatch, capsys):
    from matdiff.web.serve import main

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn raises ImportError
    assert main(["--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "matdiff[web]"' in err


def test_serve_listens_on_127_0_0_1_by_default():
    from matdiff.web.serve import build_parser

    assert build_parser().parse_args([]).host == "127.0.0.1"


def test_matdiff_serve_command(tmp_path):
    """`matdiff serve --port 0` from the command line: announces its address, serves, stops on SIGINT."""
    import signal
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "matdiff", "serve", "--port", "0"], cwd=tmp_path,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert line.startswith("matdiff: serving the page on http://127.0.0.1:"), line
        url = line.split(" on ")[1].split()[0]
        with urllib.request.urlopen(url + "api/health", timeout=10) as resp:
            assert json.load(resp)["ok"] is True
        req = urllib.request.Request(url + "api/diff", data=json.dumps(SEED).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=20) as resp:
            assert json.load(resp)["text"] == "2*beta*X*sign(X'X - I)"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest = proc.communicate(timeout=20)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0 and "Traceback" not in rest


def test_static_files_are_package_data():
    """pyproject ships every file of static/ (a non-editable install would miss the others)."""
    import tomllib

    conf = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    globs = conf["tool"]["setuptools"]["package-data"]["matdiff.web"]
    web = STATIC.parent
    shipped = {p for g in globs for p in web.glob(g)}
    assert {p for p in STATIC.rglob("*") if p.is_file()} <= shipped


def test_web_benchmark_quick(tmp_path):
    """benchmarks/bench_web.py in quick mode writes its section (skips without the shared cases)."""
    import importlib.util

    bench = Path(__file__).resolve().parent.parent / "benchmarks"
    sys.path.insert(0, str(bench))
    try:
        spec = importlib.util.spec_from_file_location("matdiff_bench_web", bench / "bench_web.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(bench))
    out = tmp_path / "README.md"
    res = mod.main(["--quick", "--repeats", "1", "--no-browser", "--out", str(out)])
    if "skipped" in res:
        assert not mod.cases_path().exists()
        return
    assert res["errors"] == 0 and len(res["rows"]) == 3
    assert "## Web round trip" in out.read_text()
    assert all(isinstance(v, bool) for v in res["targets"].values())


def test_serve_on_a_taken_port(capsys):
    import socket

    from matdiff.web.serve import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert main(["--port", str(s.getsockname()[1])]) == 2


def test_products_with_a_direction(client):
    """`product`: the code of J v, uᵀ J or H v beside the derivative's; the J v of softmax(A x)
    agrees with central differences of softmax written by hand (m ≠ n)."""
    import numpy as np

    body = post(client, {"input": "softmax(A*x)", "variable": "x", "product": "jvp", "code": ["jax", "torch"]}).json()
    assert body["numpy"] == matdiff.diff("softmax(A*x)", "x").numpy()  # the derivative's own code is unchanged
    code = body["products"]["jvp"]
    assert set(code) == {"numpy", "jax", "torch"} and "import jax" in code["jax"]
    assert code["numpy"] == matdiff.diff("softmax(A*x)", "x").to_code("numpy", product="jvp")
    namespace: dict = {}
    exec(compile(code["numpy"], "<page code>", "exec"), namespace)  # the generated code, not user text
    rng = np.random.default_rng(2)
    m, n = 4, 3
    A, x, v = rng.normal(size=(m, n)), rng.normal(size=n), rng.normal(size=n)

    def softmax_Ax(x):
        e = np.exp(A @ x - np.max(A @ x))
        return e / e.sum()

    h = 1e-6
    want = (softmax_Ax(x + h * v) - softmax_Ax(x - h * v)) / (2 * h)
    assert np.allclose(np.ravel(namespace["derivative"](v, A=A, x=x)), want, atol=1e-7)
    # a product the result has not: the reason, and the derivation itself still answered
    r = post(client, {"input": "softmax(z)", "variable": "z", "product": "hvp"})
    assert r.status_code == 200 and "needs a scalar function" in r.json()["products"]["hvp"]["error"]
    r = post(client, {"input": BACKPROP, "variable": "W,b", "product": "vjp"}).json()
    assert "one variable" in r["products"]["vjp"]["error"]
    r = post(client, {"input": "x'x", "variable": "x", "product": "jacobian"})
    assert r.status_code == 400 and "unknown product 'jacobian'" in r.json()["error"]["message"]
