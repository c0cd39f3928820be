"""The page of ``matdiff serve`` in a real browser: headless Chromium driven by Playwright.

The server runs as ``python -m matdiff serve --port 0`` in a subprocess; the
browser is Debian's chromium (Playwright is pointed at it, it downloads
nothing). Skipped only where no chromium binary exists; CI installs one.
With MATDIFF_SCREENSHOT set (to a path, or 1 for benchmarks/serve.png) the
first test saves a screenshot of the page for the README."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

import matdiff  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and Path("/usr/bin/chromium").exists():
    CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (CI installs Debian's chromium)")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SEED = "beta*sum(abs(X'X - I))"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The base URL of a `matdiff serve` started for these tests."""
    proc = subprocess.Popen([sys.executable, "-m", "matdiff", "serve", "--port", "0"],
                            cwd=tmp_path_factory.mktemp("serve"), stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    if " on http://" not in line:
        proc.kill()
        pytest.fail(f"matdiff serve did not start: {line}{proc.stderr.read()}")
    yield line.split(" on ")[1].split()[0]
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page; at the end, no request left 127.0.0.1 and the console logged no error."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    pg = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.base = server
    yield pg
    context.close()
    assert all(u.startswith((server, "data:")) for u in requests), requests
    assert not [e for e in errors if "status of 422" not in e], errors


def answers(pg) -> int:
    return int(pg.evaluate("document.body.dataset.answers || '0'"))


def until_answered(pg, before: int) -> str:
    """Wait for the page to show its next answer; its state: done or error."""
    pg.wait_for_function("n => Number(document.body.dataset.answers || 0) > n", arg=before, timeout=20000)
    return pg.evaluate("document.body.dataset.state")


def open_page(pg, query: str = "") -> str:
    pg.goto(pg.base + query)
    return until_answered(pg, 0)


def derive(pg, expr: str, wrt: str | None = None) -> str:
    """Type the expression (and variable) as a person would (new lines with Enter), press
    Ctrl+Enter, wait for the answer."""
    n = answers(pg)
    pg.fill("#expr", "")
    for k, line in enumerate(expr.split("\n")):
        if k:
            pg.press("#expr", "Enter")
        pg.type("#expr", line)
    if wrt is not None:
        pg.fill("#wrt", wrt)
    pg.press("#expr", "Control+Enter")
    # a request sent while typing may answer first: wait for the answer to the whole expression
    pg.wait_for_function("([n, e]) => Number(document.body.dataset.answers || 0) > n && "
                         "document.body.dataset.input === e && document.body.dataset.state !== 'busy'",
                         arg=[n, expr], timeout=20000)
    return pg.evaluate("document.body.dataset.state")


def test_seed_typed_typeset_steps_and_code(page):
    assert open_page(page, "?expr=x'*A*x&wrt=x") == "done"
    assert derive(page, SEED, "X") == "done"
    # typeset by KaTeX, from the shipped fonts
    math = page.locator("#math .katex-display")
    assert math.is_visible() and math.bounding_box()["width"] > 100
    tex = page.locator("#math annotation").text_content()
    assert r"\frac{\partial f}{\partial X}" in tex and r"2 \beta X \operatorname{sign}" in tex
    page.evaluate("document.fonts.ready")
    assert page.evaluate("document.fonts.check('20px KaTeX_Main')")
    assert "Gradient of beta*sum(abs(X'X - I)) with respect to X, m×n" in page.text_content("#result-title")
    assert "abs not differentiable at 0" in page.text_content("#notes")
    assert "beta is a scalar" in page.text_content("#assumed")
    # the symbols table
    rows = {r.get_attribute("data-name"): r for r in page.locator("#symbols tbody tr").all()}
    assert set(rows) == {"beta", "X"}
    assert rows["X"].locator("select").input_value() == "matrix" and "m×n" in rows["X"].text_content()
    # the steps: collapsed, then opened
    steps = page.locator("#step-list li")
    assert not steps.first.is_visible()
    page.click("#steps summary")
    assert steps.first.is_visible()
    lines = [s.text_content() for s in steps.all()]
    assert lines == [ln.replace("    [", " [") for ln in matdiff.diff(SEED, "X").steps]
    # the code tabs
    assert "np.sign(X.T @ X - np.eye(dim_n))" in page.text_content("#code")
    page.click("[data-tab=jax]")
    assert "import jax" in page.text_content("#code")
    page.click("[data-tab=torch]")
    assert "import torch" in page.text_content("#code")
    assert page.get_attribute("[data-tab=torch]", "aria-selected") == "true"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#copy")
    page.wait_for_function("() => document.getElementById('copy').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == page.text_content("#code")
    page.click("[data-tab=numpy]")
    shot = os.environ.get("MATDIFF_SCREENSHOT")
    if shot:
        path = ROOT / "benchmarks" / "serve.png" if shot == "1" else Path(shot)
        page.click("#check")
        page.wait_for_selector("#check-result.good", timeout=20000)
        page.wait_for_function("() => document.getElementById('copy').textContent === 'Copy'")
        page.screenshot(path=str(path), full_page=True)


def test_check_button(page):
    open_page(page, "?expr=" + SEED.replace("'", "%27") + "&wrt=X")
    page.click("#check")
    page.wait_for_selector("#check-result.good", timeout=20000)
    assert page.text_content("#check-result").startswith("check ok")


@pytest.mark.parametrize("expr,wrt,marked,column", [
    ("beta*sum(abs(X'X - I)", "X", "(", 9),
    ("x + A", "x", "x + A", 1),
    ("trace(X)", "X", "trace", 1),
])
def test_malformed_input_is_marked(page, expr, wrt, marked, column):
    open_page(page)
    assert derive(page, expr, wrt) == "error"
    assert page.is_visible("#error") and not page.is_visible("#result")
    assert page.locator("#error-mark mark.bad").text_content() == marked
    assert page.text_content("#error-mark") == expr
    assert f"at column {column}" in page.text_content("#error-message")
    assert "invalid" in page.get_attribute("#expr", "class")
    assert derive(page, SEED, "X") == "done" and not page.is_visible("#error")


def test_url_round_trip(page):
    open_page(page)
    n = answers(page)
    page.select_option("#examples", label="Gaussian likelihood, by the covariance")
    assert until_answered(page, n) == "done"
    q = parse_qs(urlparse(page.url).query)
    assert q["expr"] == ["-logdet(S)/2 - (x-mu)'*inv(S)*(x-mu)/2"] and q["wrt"] == ["S"]
    assert sorted(q["types"][0].split(",")) == ["S:symmetric", "mu:vector"]
    latex = page.text_content("#math annotation")
    url = page.url
    other = page.context.new_page()
    other.goto(url)
    until_answered(other, 0)
    assert other.input_value("#expr") == "-logdet(S)/2 - (x-mu)'*inv(S)*(x-mu)/2"
    assert other.input_value("#wrt") == "S"
    assert other.text_content("#math annotation") == latex
    assert other.locator("#symbols tr[data-name=S] select").input_value() == "symmetric"
    assert other.locator("#symbols tr[data-name=mu] .undeclare").is_visible()
    # a Hessian's order is in the URL too
    n = answers(other)
    other.select_option("#order", "2")
    assert until_answered(other, n) == "done" and "order=2" in other.url
    other.reload()
    until_answered(other, 0)
    assert other.input_value("#order") == "2" and other.text_content("#result-title").startswith("Hessian")


def test_changing_a_type_in_the_table(page):
    open_page(page, "?expr=-y%27*log(softmax(z))&wrt=z")
    assert page.text_content("#math annotation").count("y") >= 2  # sum(y) softmax(z) - y
    n = answers(page)
    page.locator("#symbols tr[data-name=y] select").select_option("probability")
    assert until_answered(page, n) == "done"
    assert matdiff.diff("-y'*log(softmax(z))", "z", types={"y": "probability"}).latex() in \
        page.text_content("#math annotation")
    assert "types=y%3Aprobability" in page.url or "types=y:probability" in page.url
    # a type the API does not take (yet) shows the API's own message
    n = answers(page)
    page.locator("#symbols tr[data-name=z] select").select_option("tensor")
    state = until_answered(page, n)
    try:
        matdiff.diff("-y'*log(softmax(z))", "z", types={"y": "probability", "z": "tensor"})
    except matdiff.MatdiffError as e:
        assert state == "error" and e.message in page.text_content("#error-message")
        assert page.locator("#symbols tr[data-name=z] select").input_value() == "tensor"
    else:
        assert state == "done"
    # undeclare: back to what the name says
    n = answers(page)
    page.click("#symbols tr[data-name=z] .undeclare")
    assert until_answered(page, n) == "done"


def test_every_example_in_the_menu(page, server):
    open_page(page)
    import urllib.request

    with urllib.request.urlopen(server + "api/examples", timeout=10) as resp:
        titles = [e["title"] for e in json.load(resp)["examples"]]
    for title in titles:
        n = answers(page)
        page.select_option("#examples", label=title)
        assert until_answered(page, n) == "done", (title, page.text_content("#error"))
        assert page.locator("#math .katex").count() == 1


BACKPROP = "z = W*x + b\ny = sigmoid(z)\nL = 0.5*norm2(y - t)^2 + lambda/2*norm2(W)^2"


def test_program_typed_two_gradients_backward_pass_and_code(page):
    """A program typed line by line, by W,b: two typeset rows, the backward pass, one function."""
    open_page(page)
    assert derive(page, BACKPROP, "W,b") == "done"
    assert page.evaluate("document.getElementById('expr').rows") == 3
    tex = page.locator("#math annotation").text_content()
    assert r"\frac{\partial L}{\partial W}" in tex and r"\frac{\partial L}{\partial b}" in tex
    assert page.locator("#math .katex-display").count() == 1
    rows = page.locator("#math .katex-html .mtable .mtr, #math .katex-html .vlist-r .vlist > span").count()
    assert rows >= 2
    assert page.text_content("#result-title").startswith("Gradients of L with respect to W, b")
    want = matdiff.diff(BACKPROP, ["W", "b"])
    page.click("#steps summary")
    lines = [s.text_content() for s in page.locator("#step-list li").all()]
    assert lines == [ln.replace("    [", " [") for ln in want.steps]
    assert "backward pass (adjoints, last to first):" in lines
    assert any(ln.startswith("∂L/∂z = ∂L/∂y .* y .* (1 - y)") for ln in lines)
    code = page.text_content("#code")
    assert code == want.to_code("numpy") and "def gradients(" in code and "'b':" in code
    page.click("[data-tab=jax]")
    assert page.text_content("#code") == want.to_code("jax")
    assert {r.get_attribute("data-name") for r in page.locator("#symbols tbody tr").all()} == \
        {"W", "x", "b", "t", "lambda"}
    page.click("#check")
    page.wait_for_selector("#check-result.good", timeout=20000)
    assert page.text_content("#check-result").count("check ok") == 2


def test_url_round_trip_several_variables_and_order_3(page):
    open_page(page, "?expr=" + quote(BACKPROP) + "&wrt=W,b")
    url = page.url
    q = parse_qs(urlparse(url).query)
    assert q["expr"] == [BACKPROP] and q["wrt"] == ["W,b"]
    other = page.context.new_page()
    other.goto(url)
    until_answered(other, 0)
    assert other.input_value("#expr") == BACKPROP and other.input_value("#wrt") == "W,b"
    assert other.text_content("#math annotation") == page.text_content("#math annotation")
    # order 3: index notation, in the URL, back after a reload
    n = answers(other)
    other.fill("#wrt", "x")
    other.fill("#expr", "sum(x .^ 4)")
    other.select_option("#order", "3")
    other.wait_for_function("n => document.body.dataset.input === 'sum(x .^ 4)' && "
                            "document.body.dataset.state === 'done' && Number(document.body.dataset.answers) > n",
                            arg=n, timeout=20000)
    assert "order=3" in other.url
    other.reload()
    until_answered(other, 0)
    assert other.input_value("#order") == "3" and other.input_value("#expr") == "sum(x .^ 4)"
    assert other.text_content("#result-title").startswith("Derivative of order 3")
    tex = other.text_content("#math annotation")
    assert tex == matdiff.diff("sum(x .^ 4)", "x", order=3).latex() and r"\delta" in tex


def test_mixed_derivative_from_the_then_field(page):
    open_page(page, "?expr=" + quote("x'*A*y") + "&wrt=x&then=y")
    assert page.input_value("#then") == "y"
    assert page.text_content("#result-title").startswith("Mixed second derivative of x'*A*y with respect to x, then y")
    tex = page.text_content("#math annotation")
    assert tex.startswith(r"\frac{\partial^2 f}{\partial x\, \partial y^{\top}}") and tex.endswith("= A")
    n = answers(page)
    page.fill("#then", "")
    assert until_answered(page, n) == "done" and "then=" not in page.url
    assert page.text_content("#result-title").startswith("Gradient")


def test_declaring_a_function_in_the_table(page):
    """g(A*x) reads as a product until g is declared a scalar function in the table."""
    open_page(page, "?expr=" + quote("g(A*x)") + "&wrt=x")
    assert page.evaluate("document.body.dataset.state") == "error"
    assert "'g' is not a function" in page.text_content("#error-message")
    select = page.locator("#symbols tr[data-name=g] select")
    assert select.input_value() == "" and "called" in select.locator("option").first.text_content()
    n = answers(page)
    select.select_option("scalar function")
    assert until_answered(page, n) == "done"
    assert page.text_content("#math annotation") .endswith(matdiff.diff("g(A*x)", "x", types={"g": "scalar function"}).latex())
    assert "types=g%3Ascalar+function" in page.url or "types=g:scalar" in page.url
    assert "array → scalar" in page.text_content("#symbols tr[data-name=g]")
    # the other kind: element-wise
    n = answers(page)
    page.locator("#symbols tr[data-name=g] select").select_option("function")
    state = until_answered(page, n)
    try:
        want = matdiff.diff("g(A*x)", "x", types={"g": "function"})
    except matdiff.MatdiffError as e:
        assert state == "error" and e.message in page.text_content("#error-message")
    else:
        assert state == "done" and page.text_content("#math annotation").endswith(want.latex())


@pytest.mark.parametrize("expr,wrt,left", [
    ("h = tanh(W1*x + b1)\ny = W2*h + b2\nL = 0.5*norm2(y - t)^2", "W2", r"\frac{\partial L}{\partial W_{2}} = "),
    ("beta*sum_i(sum(abs(Phi[:,i,:]'*Phi[:,i,:] - I)))", "Phi", None),
])
def test_the_left_side_names_the_function(page, expr, wrt, left):
    """A program's gradient is ∂L/∂W; an answer in index notation names its own left side, once."""
    open_page(page, "?expr=" + quote(expr) + "&wrt=" + quote(wrt))
    state = page.evaluate("document.body.dataset.state")
    try:
        want = matdiff.diff(expr, wrt).latex()
    except matdiff.MatdiffError as e:
        assert state == "error" and e.message in page.text_content("#error-message")
        return
    tex = page.text_content("#math annotation")
    assert state == "done" and tex == (left or "") + want
    assert tex.count(r"\frac{\partial") == 1


def test_product_code_from_the_menu(page):
    """'code of: H v' shows the Hessian-vector product's code in the code tabs, kept in the URL."""
    open_page(page, "?expr=" + quote("norm2(A*x - b)^2") + "&wrt=x")
    n = answers(page)
    page.select_option("#product", "hvp")
    assert until_answered(page, n) == "done" and "product=hvp" in page.url
    want = matdiff.diff("norm2(A*x - b)^2", "x")
    assert page.text_content("#code") == want.to_code("numpy", product="hvp")
    page.click("[data-tab=jax]")
    assert page.text_content("#code") == want.to_code("jax", product="hvp")
    page.reload()
    until_answered(page, 0)
    assert page.input_value("#product") == "hvp"
    n = answers(page)
    page.fill("#expr", "softmax(z)")
    page.fill("#wrt", "z")
    page.press("#expr", "Control+Enter")
    page.wait_for_function("() => document.body.dataset.input === 'softmax(z)' && document.body.dataset.state === 'done'")
    assert page.text_content("#code").startswith("# no hvp code: a Hessian-vector product needs a scalar function")
