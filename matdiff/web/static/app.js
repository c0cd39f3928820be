// matdiff's page: read the form, POST it to /api/diff, show the object that comes back.
// The state (expression, variables, order, the mixed derivative's further variables, declared
// types) lives in the URL's query string.
"use strict";

const TYPES = ["scalar", "vector", "matrix", "symmetric", "probability", "tensor", "function", "scalar function"];
const GREEK = new Set(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
  "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"]);

const $ = (id) => document.getElementById(id);
const state = { input: "", variable: "", order: 1, then: "", types: {}, product: "" };
let symbols = [];      // the last table of symbols the server sent
let result = null;     // the last derivation the server sent
let tab = "numpy";
let seq = 0;           // answers to older requests are dropped
let timer = null;
let answers = 0;

// -- the URL ---------------------------------------------------------------------------
function readUrl() {
  const q = new URLSearchParams(location.search);
  state.input = q.get("expr") || "";
  state.variable = q.get("wrt") || "";
  state.order = parseInt(q.get("order") || "1", 10) || 1;
  state.then = q.get("then") || "";
  state.product = q.get("product") || "";
  state.types = {};
  for (const pair of (q.get("types") || "").split(",")) {
    const at = pair.lastIndexOf(":");
    if (at > 0) state.types[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return q.has("expr");
}

function writeUrl() {
  const q = new URLSearchParams();
  q.set("expr", state.input);
  q.set("wrt", state.variable);
  if (state.order !== 1) q.set("order", String(state.order));
  if (state.then) q.set("then", state.then);
  if (state.product) q.set("product", state.product);
  const types = Object.entries(state.types).map(([n, t]) => `${n}:${t}`).join(",");
  if (types) q.set("types", types);
  history.replaceState(null, "", `${location.pathname}?${q}`);
}

function showState() {
  $("expr").value = state.input;
  $("wrt").value = state.variable;
  $("then").value = state.then;
  $("product").value = state.product;
  fitRows();
  const order = $("order");
  if (![...order.options].some((o) => o.value === String(state.order))) {
    order.add(new Option(String(state.order), String(state.order)));
  }
  order.value = String(state.order);
}

// -- talking to the server ---------------------------------------------------------------
// "W,b" → ["W", "b"]; a comma inside brackets belongs to an indexed part (Phi[:,a,b])
function names(text) {
  const parts = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    depth += (ch === "[") - (ch === "]");
    if (ch === "," && depth === 0) {
      parts.push(cur.trim());
      cur = "";
    } else {
      cur += ch;
    }
  }
  parts.push(cur.trim());
  return parts.filter((n) => n);
}

// several variables go as a list (one gradient each), one as a name; "then" makes a mixed derivative
function request(extra) {
  const vars = names(state.variable);
  const body = { input: state.input, variable: vars.length > 1 ? vars : (vars[0] || ""), order: state.order,
    types: state.types };
  if (names(state.then).length) body.then = names(state.then);
  if (state.product) body.product = state.product;
  return Object.assign(body, extra);
}

async function post(path, body) {
  try {
    const resp = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) });
    return { ok: resp.ok, body: await resp.json() };
  } catch (e) {
    return { ok: false, body: { error: { kind: "error", message: `no answer from the server (${e.message})` } } };
  }
}

async function derive() {
  clearTimeout(timer);
  state.input = $("expr").value;
  state.variable = names($("wrt").value).join(",");
  state.then = names($("then").value).join(",");
  state.order = parseInt($("order").value, 10) || 1;
  state.product = $("product").value;
  writeUrl();
  if (!state.input.trim() || !state.variable) {
    seq++;  // an answer still on its way is for an older input
    showError(null);
    $("result").hidden = true;
    document.body.dataset.state = "idle";
    return;
  }
  const mine = ++seq;
  const asked = state.input;
  $("busy").hidden = false;
  document.body.dataset.state = "busy";
  const t0 = performance.now();
  const { ok, body } = await post("/api/diff", request({ code: ["jax", "torch"], symbols: true }));
  if (mine !== seq) return;
  $("busy").hidden = true;
  showSymbols(body.symbols);
  if (ok) {
    showError(null);
    showResult(body);
  } else {
    $("result").hidden = true;
    showError(body.error || { message: "unexpected answer from the server" });
  }
  document.body.dataset.ms = String(Math.round(performance.now() - t0));
  document.body.dataset.state = ok ? "done" : "error";
  document.body.dataset.input = asked;  // the expression the shown answer is for
  document.body.dataset.answers = String(++answers);  // how many answers the page has shown
}

// the expression box is as tall as its lines (a program shows whole)
function fitRows() {
  const box = $("expr");
  box.rows = Math.min(12, Math.max(1, box.value.split("\n").length));
}

function deriveSoon() {
  clearTimeout(timer);
  timer = setTimeout(derive, 450);
}

// -- errors, with the offending columns marked -------------------------------------------
function showError(err) {
  const box = $("error");
  const mark = $("error-mark");
  $("expr").classList.toggle("invalid", !!err);
  $("expr").setAttribute("aria-invalid", err ? "true" : "false");
  if (!err) {
    box.hidden = true;
    return;
  }
  const where = err.column ? ` at column ${err.column}` : "";
  $("error-message").textContent = `${err.kind || "error"}${where}: ${err.message}`;
  mark.replaceChildren();
  mark.hidden = !(err.column && typeof err.text === "string");
  if (!mark.hidden) {
    const chars = Array.from(err.text);  // columns count characters, as in Python; a program keeps its lines
    const start = Math.max(0, err.column - 1);
    const end = Math.max(start + 1, start + (err.width || 1));
    while (chars.length < end) chars.push(" ");  // an error at the end marks the place after it
    const bad = document.createElement("mark");
    bad.className = "bad";
    bad.textContent = chars.slice(start, end).join("");
    mark.append(chars.slice(0, start).join(""), bad, chars.slice(end).join(""));
  }
  box.hidden = false;
}

// -- the symbols table ------------------------------------------------------------------
const FUNCTION_DIMS = { function: "element-wise", "scalar function": "array → scalar" };

function dims(shape, type) {
  if (type in FUNCTION_DIMS) return FUNCTION_DIMS[type];
  if (!type) return "—";
  if (!shape || shape.length === 0 || shape.every((d) => d === "1")) return "1 (scalar)";
  return shape.join("×");
}

function showSymbols(list) {
  if (Array.isArray(list)) symbols = list;
  const rows = symbols.map((s) => Object.assign({}, s, state.types[s.name]
    ? { type: state.types[s.name], declared: true } : {}));
  const body = $("symbols").tBodies[0];
  body.replaceChildren();
  for (const s of rows) {
    const tr = body.insertRow();
    tr.dataset.name = s.name;
    const name = document.createElement("code");
    name.textContent = s.name;
    tr.insertCell().append(name);
    const select = document.createElement("select");
    select.setAttribute("aria-label", `type of ${s.name}`);
    if (!s.type) {  // the expression does not type: no type inferred, one can be chosen
      const none = new Option(s.called ? "? (called: a function?)" : "?", "");
      none.disabled = true;
      select.add(none);
    }
    for (const t of TYPES) select.add(new Option(t, t));
    if (s.type && !TYPES.includes(s.type)) select.add(new Option(s.type, s.type));
    select.value = s.type || "";
    select.addEventListener("change", () => {
      state.types[s.name] = select.value;
      derive();
    });
    tr.insertCell().append(select);
    tr.insertCell().textContent = dims(s.shape, s.type);
    const cell = tr.insertCell();
    if (s.declared) {
      const undo = document.createElement("button");
      undo.type = "button";
      undo.className = "undeclare";
      undo.textContent = "declared ✕";
      undo.title = "forget the declaration: infer the type from the name";
      undo.addEventListener("click", () => {
        delete state.types[s.name];
        derive();
      });
      cell.append(undo);
    } else {
      cell.textContent = s.type ? "inferred" : "not typed: choose";
      cell.className = "inferred";
    }
  }
  $("symbols-section").hidden = rows.length === 0;
}

// -- the result -------------------------------------------------------------------------
function texName(name) {
  const part = /^(\w+)\[([^\]]*)\]$/.exec(name);  // an indexed part: Phi[:,a,b]
  if (part) return `${texName(part[1])}_{${part[2]}}`;
  const m = /^([A-Za-z]+)(?:_?(\w+))?$/.exec(name);
  if (!m) return `\\mathit{${name.replace(/_/g, "\\_")}}`;
  const base = GREEK.has(m[1]) ? `\\${m[1]}` : (m[1].length > 1 ? `\\mathit{${m[1]}}` : m[1]);
  return m[2] ? `${base}_{${m[2]}}` : base;
}

// x for a vector or scalar, vec X for a matrix (the mixed derivative is on vec of each)
function vecOf(name) {
  const s = symbols.find((x) => x.name === name);
  const column = !s || !s.shape || s.shape.length < 2 || s.shape[1] === "1";
  return column ? texName(name) : `(\\operatorname{vec} ${texName(name)})`;
}

// the name a program gives its function (its last statement, "L = …"), else null
function programName(text) {
  const statements = text.split(/[;\n]/).map((t) => t.trim()).filter((t) => t);
  const m = /^([A-Za-z][A-Za-z0-9_]*)\s*=(?!=)/.exec(statements[statements.length - 1] || "");
  return m ? texName(m[1]) : null;
}

function lhs(r) {
  if (!r.kind) return "";  // several variables: each row names its own ∂f/∂x
  const x = texName(r.variable);
  const f = programName(r.input || "") || "f";
  const F = programName(r.input || "") || "F";
  switch (r.kind) {
    case "gradient": return `\\frac{\\partial ${f}}{\\partial ${x}}`;
    case "jacobian": return `\\frac{\\partial \\operatorname{vec} ${F}}{\\partial (\\operatorname{vec} ${x})^{\\top}}`;
    case "derivative": return `\\frac{d${F}}{d${x}}`;
    case "hessian": return `\\frac{\\partial^2 ${f}}{\\partial (\\operatorname{vec} ${x})\\, \\partial (\\operatorname{vec} ${x})^{\\top}}`;
    case "mixed": {
      const [a, b] = (r.variables || []).map(vecOf);
      const scalar = !(r.steps || [""])[0].startsWith("F = ");
      const top = scalar ? f : `\\operatorname{vec} ${F}`;
      return a && b ? `\\frac{\\partial^2 ${top}}{\\partial ${a}\\, \\partial ${b}^{\\top}}` : "";
    }
    default: return "";  // order 3 and up: the index form names its entries
  }
}

const LABELS = { gradient: "Gradient", jacobian: "Jacobian", derivative: "Derivative", hessian: "Hessian",
  mixed: "Mixed second derivative" };

function title(r) {
  if (!r.kind) {
    const kinds = new Set(Object.values(r.results || {}).map((x) => x.kind));
    const what = kinds.size === 1 ? `${LABELS[[...kinds][0]] || "Derivative"}s` : "Derivatives";
    return `${what} of ${r.function || "f"} with respect to ${(r.variables || []).join(", ")}`;
  }
  const shape = (r.shape || []).join("×");
  if (r.kind === "mixed") return `${LABELS.mixed} of ${r.input} with respect to ${(r.variables || []).join(", then ")}`;
  if (r.kind === "higher") {
    return `Derivative of order ${r.order} of ${r.input} with respect to ${(r.variables || []).join(", ")}`;
  }
  return `${LABELS[r.kind] || r.kind} of ${r.input} with respect to ${r.variable}` + (shape ? `, ${shape}` : "");
}

function showResult(r) {
  result = r;
  $("result-title").textContent = title(r);
  const math = $("math");
  // an index-notation answer names its own left side
  const left = /^\\frac\{\\partial[^=]*= /.test(r.latex || "") ? "" : lhs(r);
  if (window.katex) {
    katex.render(left ? `${left} = ${r.latex}` : r.latex, math, { displayMode: true, throwOnError: false });
  } else {
    math.textContent = r.unicode || r.text;
  }
  const assumed = symbols.filter((s) => !state.types[s.name] && !s.declared && s.type)
    .map((s) => `${s.name} is ${article(s.type)}${s.type === "scalar" ? "" : ` (${dims(s.shape, s.type)})`}`);
  $("assumed").textContent = assumed.length ? `where ${assumed.join(", ")} (assumed from the names; change them above)` : "";
  const notes = $("notes");
  // the assumed types are said above, with their dimensions
  const shown = (r.notes || []).filter((n) => !(assumed.length && n.startsWith("assumed ")));
  notes.replaceChildren(...shown.map((n) => {
    const li = document.createElement("li");
    li.textContent = n;
    return li;
  }));
  const steps = $("step-list");
  steps.replaceChildren(...(r.steps || []).map((line) => {
    const li = document.createElement("li");
    const at = line.lastIndexOf("    [");
    const code = document.createElement("code");
    code.textContent = at > 0 ? line.slice(0, at) : line;
    li.append(code);
    if (at > 0) {
      const rule = document.createElement("span");
      rule.className = "rule";
      rule.textContent = line.slice(at + 4);
      li.append(" ", rule);
    }
    return li;
  }));
  $("steps").querySelector("summary").textContent = `Derivation, step by step (${(r.steps || []).length} lines)`;
  $("check-result").textContent = "";
  $("check-result").className = "";
  showTab(tab);
  $("result").hidden = false;
}

function article(word) {
  return (/^[aeiou]/.test(word) ? "an " : "a ") + word;
}

function codeFor(name) {
  if (!result) return "";
  const product = state.product && (result.products || {})[state.product];
  if (product && ["numpy", "jax", "torch"].includes(name)) {
    return product.error ? `# no ${state.product} code: ${product.error}` : product[name] || "";
  }
  if (name === "numpy") return result.numpy;
  if (name === "latex") return result.latex;
  if (name === "text") return result.text;
  return (result.code || {})[name] || "";
}

function showTab(name) {
  tab = name;
  for (const b of document.querySelectorAll(".tabs [data-tab]")) {
    b.setAttribute("aria-selected", String(b.dataset.tab === name));
  }
  $("code").firstElementChild.textContent = codeFor(name);
  $("code").dataset.tab = name;
}

async function copyCode() {
  const text = codeFor(tab);
  const button = $("copy");
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {  // no clipboard permission: select the text and copy it the old way
    const range = document.createRange();
    range.selectNodeContents($("code"));
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    document.execCommand("copy");
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 1200);
}

async function check() {
  const out = $("check-result");
  out.className = "";
  out.textContent = "checking…";
  const { ok, body } = await post("/api/check", request({}));
  if (!ok) {
    out.className = "bad";
    out.textContent = `could not check: ${(body.error || {}).message || "no answer"}`;
    return;
  }
  out.className = body.ok === true ? "good" : body.ok === false ? "bad" : "unknown";
  out.textContent = body.text;
}

// -- examples ----------------------------------------------------------------------------
let examples = [];

async function loadExamples() {
  try {
    examples = (await (await fetch("/api/examples")).json()).examples || [];
  } catch (e) {
    examples = [];
  }
  const select = $("examples");
  examples.forEach((ex, i) => select.add(new Option(ex.title, String(i))));
}

function useExample(i) {
  const ex = examples[i];
  if (!ex) return;
  state.input = ex.input;
  state.variable = Array.isArray(ex.variable) ? ex.variable.join(",") : ex.variable;
  state.then = (ex.then || []).join(",");
  state.order = ex.order || 1;
  state.types = Object.assign({}, ex.types || {});
  showState();
  derive();
}

// -- wiring ------------------------------------------------------------------------------
async function start() {
  $("form").addEventListener("submit", (e) => {
    e.preventDefault();
    derive();
  });
  for (const id of ["expr", "wrt", "then"]) {
    $(id).addEventListener("input", () => {
      $("examples").value = "";
      fitRows();
      deriveSoon();
    });
  }
  // the expression box takes programs: Enter starts a new line, Ctrl+Enter (⌘+Enter) derives now
  $("expr").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      derive();
    }
  });
  $("order").addEventListener("change", derive);
  $("product").addEventListener("change", derive);
  $("examples").addEventListener("change", (e) => useExample(parseInt(e.target.value, 10)));
  $("check").addEventListener("click", check);
  $("copy").addEventListener("click", copyCode);
  for (const b of document.querySelectorAll(".tabs [data-tab]")) {
    b.addEventListener("click", () => showTab(b.dataset.tab));
  }
  const fromUrl = readUrl();
  await loadExamples();
  if (fromUrl) {
    showState();
    derive();
  } else if (examples.length) {
    $("examples").value = "0";
    useExample(0);
  } else {
    document.body.dataset.state = "idle";
  }
}

start();
