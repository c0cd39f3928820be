"""Text → raw syntax tree, with the grammar of ``grammar/matdiff.lark``.

The raw tree (:class:`Raw`) records what was written and where; types and
dimensions are given to it by :mod:`matdiff.shapes`."""
from __future__ import annotations

import gc
import re
from contextvars import ContextVar
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.visitors import Transformer_NonRecursive
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from ..errors import InternalError, MatdiffError, ParseError, UnknownNameError
from ..core.catalogue import FUNCTIONS, nearest_function
from ..core.names import NAME, is_greek
from .hints import bars_hint, check_spellings
from .limits import MAX_DIGITS, MAX_EXPONENT, check_input_size, name_too_long, shortened


@dataclass(frozen=True)
class Raw:
    """A node of the raw tree: an operator, its operands, and its columns."""

    op: str
    args: tuple
    start: int  # 1-based column of the first character
    end: int  # 1-based column just past the last character

    def source(self, text: str) -> str:
        return text[self.start - 1:self.end - 1]


def grammar_text() -> str:
    """The grammar, from the source tree or from inside the installed wheel."""
    package = Path(__file__).resolve().parent.parent
    for cand in (package.parent / "grammar" / "matdiff.lark", package / "grammar" / "matdiff.lark"):
        if cand.is_file():
            return cand.read_text(encoding="utf-8")
    return resources.files("matdiff").joinpath("grammar/matdiff.lark").read_text(encoding="utf-8")


_CALLED: ContextVar[tuple[str, frozenset[str]]] = ContextVar("matdiff_declared", default=("", frozenset()))
"""The text being parsed and the names declared as functions (f, g, grad_g)."""


def _declared_call(tok: Token) -> Token:
    """A NAME that is a declared function and is called — ``f(``, ``f'(`` — is lexed as FUNC."""
    text, names = _CALLED.get()
    message = name_too_long(tok.value)
    if message:
        raise ParseError(message, text, tok.start_pos + 1, len(tok.value))
    if tok.value in names:
        rest = text[tok.end_pos:].lstrip("'′").lstrip()
        if rest.startswith("("):
            tok.type = "FUNC"
    return tok


_DECIMAL_RUN = re.compile(r"[\d_]*")
_RADIX_RUN = re.compile(r"0([xX][\da-fA-F]|[oO][0-7]|[bB][01])\w*")
_POINTS_RUN = re.compile(r"(\.\d+)+")
_EXPONENT_RUN = re.compile(r"([eE][-+]?\d+)+")


def _number_token(tok: Token) -> Token:
    """A NUMBER as written: at most :data:`MAX_DIGITS` digits and an exponent of at most
    :data:`MAX_EXPONENT`, and not run into what would make another literal of it (``1_000``,
    ``0x10``, ``1e5.5``), which would otherwise read as a product (1·_000, 0·x10, 1e5·.5)."""
    text = _CALLED.get()[0]
    value, start, end = tok.value, tok.start_pos, tok.start_pos + len(tok.value)
    mantissa, _, exponent = value.lower().partition("e")
    digits = len(mantissa) - ("." in mantissa)
    if digits > MAX_DIGITS:
        raise ParseError(f"the number '{shortened(value)}' has {digits:,} digits; a number is written with "
                         f"at most {MAX_DIGITS} digits (use an exponent: 1.5e400)", text, start + 1, len(value))
    magnitude = exponent.lstrip("+-").lstrip("0")
    if len(magnitude) > len(str(MAX_EXPONENT)) or (magnitude and int(magnitude) > MAX_EXPONENT):
        raise ParseError(f"the number '{shortened(value)}' is out of range: its exponent may be at most "
                         f"{MAX_EXPONENT}", text, start + 1, len(value))
    if text[end:end + 1] == "_":
        written = value + _DECIMAL_RUN.match(text, end).group()
        fix = f"; write {shortened(written.replace('_', ''))}" if written.rstrip("_") != value else ""
        raise ParseError(f"'_' directly after the number '{shortened(value)}': numbers have no digit "
                         f"separators{fix} (a product with a name starting with '_' needs a space or '*')",
                         text, end + 1, len(written) - len(value))
    radix = _RADIX_RUN.match(text, start) if value == "0" else None
    if radix:
        written = radix.group()
        raise ParseError(f"'{shortened(written)}' is not a number: write numbers in decimal (hexadecimal, "
                         "octal and binary literals are not part of the language)",
                         text, end + 1, len(written) - len(value))
    points = _POINTS_RUN.match(text, end)
    if points:
        written = value + points.group()
        raise ParseError(f"'{shortened(written)}' is not a number: a number has at most one decimal point, "
                         "and its exponent is an integer", text, end + 1, len(written) - len(value))
    again = _EXPONENT_RUN.match(text, end) if exponent else None
    if again:
        written = value + again.group()
        raise ParseError(f"'{shortened(written)}' is not a number: a number has one exponent",
                         text, end + 1, len(written) - len(value))
    return tok


def literal_value(literal: str) -> Fraction:
    """The exact value of a number literal whose size :func:`_number_token` has checked
    (its exponent read as an int, however many leading zeros it is written with)."""
    mantissa, _, exponent = literal.lower().partition("e")
    power = int(exponent.lstrip("+-").lstrip("0") or 0)
    return Fraction(mantissa) * Fraction(10) ** (-power if exponent.startswith("-") else power)


LEXER = "basic"  # one scanner for the whole grammar: parses exactly as the contextual lexer does here, and
# compiles one regular expression on the first parse instead of one per parser state


def build_parser(strict: bool = False, cache: bool | str = True) -> Lark:
    """The LALR parser.  The tests build it with ``strict=True`` (colliding
    terminals and conflicts are errors); at run time the checked grammar is
    loaded from the cache file ``cache`` (see :func:`parser_cache_file`), which
    takes milliseconds instead of a second."""
    return Lark(grammar_text(), parser="lalr", strict=strict, propagate_positions=True,
                maybe_placeholders=False, cache=False if strict else cache, lexer=LEXER,
                lexer_callbacks={"NAME": _declared_call, "NUMBER": _number_token})


def parser_cache_file(grammar: str) -> str | None:
    """Where the analysed grammar is kept between runs: the user's cache directory
    (``$XDG_CACHE_HOME`` or ``~/.cache``, then ``matdiff/``), never a shared temporary
    directory.  The name carries a hash of the grammar, lark's and Python's versions,
    so a changed grammar never loads a stale table (lark checks the same hash inside
    the file).  None when the directory cannot be made; an unwritable one only means
    no cache is saved."""
    import hashlib
    import os
    import sys

    import lark

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = hashlib.sha256(f"{grammar}|{LEXER}|{lark.__version__}|{sys.version_info[:2]}".encode()).hexdigest()
    folder = os.path.join(base, "matdiff")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return os.path.join(folder, f"parser-{key[:20]}.lark")


@lru_cache(maxsize=1)
def _parser() -> Lark:
    cache = parser_cache_file(grammar_text())
    try:
        return build_parser(cache=cache or False)
    except OSError:  # a cache file that cannot be read or written
        return build_parser(cache=False)


_SAME_WIDTH = str.maketrans({"−": "-", "·": "*"})


def _span(meta) -> tuple[int, int]:
    return meta.column, meta.end_column


@v_args(meta=True)
class _ToRaw(Transformer_NonRecursive, Transformer):
    """One method per grammar alias: each builds one Raw node."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def _node(self, op, meta, *args):
        return Raw(op, tuple(args), *_span(meta))

    def number(self, meta, children):  # its size is checked as it is lexed (_number_token)
        return self._node("num", meta, literal_value(str(children[0])))

    def name(self, meta, children):
        return self._node("name", meta, str(children[0]))

    def paren(self, meta, children):
        inner = children[0]
        return Raw("paren", (inner,), *_span(meta))

    def add(self, meta, c):
        return self._node("add", meta, c[0], c[1])

    def sub(self, meta, c):
        return self._node("sub", meta, c[0], c[1])

    def mul(self, meta, c):
        return self._node("mul", meta, c[0], c[1])

    def juxt(self, meta, c):
        left, right = c
        if left.op == "name" and right.op == "paren" and right.start == left.end \
                and not is_greek(left.args[0]):  # beta(x + y) is a product
            suggestion = nearest_function(left.args[0])
            if suggestion and len(left.args[0]) >= 3:
                raise UnknownNameError(
                    f"unknown function '{left.args[0]}'; did you mean '{suggestion}'? "
                    f"(write '{left.args[0]} (…)' with a space for a product)",
                    self.text, left.start, left.end - left.start)
        return self._node("mul", meta, left, right)

    def hadamard(self, meta, c):
        return self._node("hadamard", meta, c[0], c[2])

    def ediv(self, meta, c):
        return self._node("ediv", meta, c[0], c[1])

    def div(self, meta, c):
        return self._node("div", meta, c[0], c[1])

    def kron_op(self, meta, c):
        return self._node("kron", meta, c[0], c[2])

    def neg(self, meta, c):
        return self._node("neg", meta, c[0])

    def pos(self, meta, c):
        return c[0]

    def pow(self, meta, c):
        return self._node("pow", meta, c[0], c[1])

    def epow(self, meta, c):
        return self._node("epow", meta, c[0], c[1])

    def transpose(self, meta, c):
        return self._node("transpose", meta, c[0])

    def call(self, meta, c):
        fn = str(c[0])
        return self._node("call", meta, fn, *c[1:])

    def call_prime(self, meta, c):
        """f'(u), f''(u), f′(u): a derivative of a declared function."""
        fn, *marks, arg = c
        if any(str(m) == "ᵀ" for m in marks):
            raise ParseError(f"write {fn}'(…) for the derivative of '{fn}', not {fn}ᵀ(…)",
                             self.text, meta.column, len(str(fn)) + len(marks))
        return self._node("call", meta, str(fn) + "'" * len(marks), arg)

    def define(self, meta, c):  # name = expr: args (name, expr, the name as a raw node)
        tok, expr = c
        return self._node("define", meta, str(tok), expr, Raw("name", (str(tok),), tok.column, tok.end_column))

    def program(self, meta, c):  # definitions, the last statement the function (SPEC §7)
        return self._node("program", meta, *c)

    # index notation (SPEC §6): the nodes are read by matdiff.indices
    def sub_item(self, meta, c):
        return c[0]

    def subscript(self, meta, c):
        return self._node("subscript", meta, c[0], index_subscripts(c[1:], self.text))

    def index_sum(self, meta, c):
        return self._node("index_sum", meta, sum_indices(c[0], self.text), c[1])

    def delta(self, meta, c):
        return self._node("delta", meta, (str(c[1]), c[1].column), (str(c[2]), c[2].column))


def index_subscripts(tokens, text: str) -> tuple[tuple[str, int], ...]:
    """The subscripts of ``A[i,:]`` as (index name or ':', column)."""
    out = []
    for t in tokens:
        if t.type == "NUMBER":
            raise ParseError(f"a subscript is an index name or ':', not the number '{t}' "
                             "(indices are names; their values are passed to the function)",
                             text, t.column, len(str(t)))
        out.append((str(t), t.column))
    return tuple(out)


def sum_indices(tok, text: str) -> tuple[tuple[str, int], ...]:
    """The indices bound by ``sum_i`` or ``sum_{i,j}``, as (name, column)."""
    body = str(tok).split("_", 1)[1]
    col = tok.column + len(str(tok)) - len(body)
    if not body.startswith("{"):
        return ((body, col),)
    out: list[tuple[str, int]] = []
    pos = 1
    for part in body[1:-1].split(","):
        name = part.strip()
        where = col + pos + (len(part) - len(part.lstrip()))
        if not NAME.fullmatch(name or "-"):
            raise ParseError(f"'{tok}' must list index names separated by commas",
                             text, where if name else col, max(1, len(name)))
        if name in [n for n, _ in out]:
            raise ParseError(f"index '{name}' is listed twice in '{tok}'", text, where, len(name))
        out.append((name, where))
        pos += len(part) + 1
    return tuple(out)


def parse_raw(text: str, functions: frozenset[str] = frozenset()) -> Raw:
    """Parse ``text`` into a raw tree; syntax errors raise :class:`ParseError`.
    ``functions`` are the names called like functions by declaration (f, g, grad_g).
    The last few trees are kept (they are immutable): a derivation reads its text
    twice, once to see whether it is in index notation."""
    if not isinstance(text, str):
        raise ParseError(f"expected the expression as a string, got {type(text).__name__}")
    check_input_size(text)
    return _parse_raw(text, frozenset(functions))


@lru_cache(maxsize=4)
def _parse_raw(text: str, functions: frozenset[str]) -> Raw:
    """:func:`parse_raw` of a text within the size limit."""
    if not text.strip():
        raise ParseError("empty expression", text, 1)
    text = statement_breaks(text.translate(_SAME_WIDTH))  # − and · as - and *, column for column
    check_spellings(text, lambda n: n in FUNCTIONS or n in functions)
    token = _CALLED.set((text, frozenset(functions)))
    collecting = gc.isenabled()
    gc.disable()  # the trees are acyclic: collections while building them would only make time superlinear
    try:
        tree = _parser().parse(text)
        raw = _ToRaw(text).transform(tree)
    except UnexpectedInput as e:
        raise _syntax_error(text, e) from None
    except VisitError as e:  # lark wraps what a transformer method raises: never let the wrapper out
        raise _unwrapped(e, text) from None
    finally:
        _CALLED.reset(token)
        if collecting:
            gc.enable()
    if isinstance(raw, Token):  # a bare token cannot happen with this grammar
        raise ParseError("not an expression", text, 1)
    return raw


_CONTINUES = "+-*/^.,(=⊙∘⊗"
_CONTINUED = "+*/^.)'ᵀ,⊙∘⊗"


def _unwrapped(e: VisitError, text: str) -> MatdiffError:
    """The error a transformer method raised, pointing at its rule's columns; a fault
    that is not a :class:`MatdiffError` is an :class:`InternalError` there."""
    exc = e.orig_exc
    meta = getattr(e.obj, "meta", None)
    start = getattr(meta, "start_pos", None)
    end = getattr(meta, "end_pos", None)
    if not isinstance(exc, MatdiffError):
        exc = InternalError(f"{type(exc).__name__} while reading '{e.rule}': {exc} (a bug in matdiff; please "
                            "report this expression)")
    return exc.at(text, start + 1, end - start) if start is not None and end is not None else exc


def statement_breaks(text: str) -> str:
    """In a program (a text with '='), a new line at parenthesis depth 0 ends a
    statement: it becomes ';', column for column, unless the line ends with an
    operator or the next one starts with one (a statement continued)."""
    if "=" not in text or "\n" not in text:
        return text
    out = list(text)
    following = [""] * (len(text) + 1)  # following[i]: the first non-blank character at or after i
    for i in range(len(text) - 1, -1, -1):
        following[i] = following[i + 1] if text[i].isspace() else text[i]
    depth = 0
    before = ""  # the last non-blank character so far
    for i, ch in enumerate(text):
        depth += ch in "(["
        depth -= ch in ")]"
        if ch == "\n" and depth <= 0:
            after = following[i + 1]
            if before and after and before not in _CONTINUES and after not in _CONTINUED:
                out[i] = ";"
        if not ch.isspace():
            before = ch
    return "".join(out)


def _unclosed(text: str) -> int:
    """The index of the innermost '(' left open."""
    opened: list[int] = []
    for i, ch in enumerate(text):
        if ch == "(":
            opened.append(i)
        elif ch == ")" and opened:
            opened.pop()
    return opened[-1] if opened else len(text)


def _depth_before(text: str, col: int) -> int:
    depth = 0
    for ch in text[:col - 1]:
        depth += ch == "("
        depth -= ch == ")"
    return depth


_OPERATOR_NAMES = {"PLUS": "+", "MINUS": "-", "STAR": "*", "SLASH": "/", "CIRCUMFLEX": "^",
                   "HADAMARD": ".*", "KRON": "⊗", "COMMA": ",", "RPAR": ")", "TRANSPOSE": "'"}


def _syntax_error(text: str, e: UnexpectedInput) -> ParseError:
    """One clear message per common mistake, with the column of the mistake."""
    end = len(text.rstrip()) + 1
    if isinstance(e, UnexpectedCharacters):
        ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else "?"
        return bars_hint(text, e.column) or ParseError(f"unexpected character '{ch}'", text, e.column)
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        if _depth_before(text, end) > 0:
            return ParseError("unclosed parenthesis: '(' is never closed", text, _unclosed(text) + 1)
        if text.count("[") > text.count("]"):
            return ParseError("unclosed bracket: '[' is never closed", text, text.rindex("[") + 1)
        return ParseError("missing operand at the end of the expression", text, end)
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    col = e.column
    shown = str(tok)
    if tok.type == "RPAR":
        if _depth_before(text, col) <= 0:
            return ParseError("unmatched ')'", text, col)
        return ParseError("missing operand before ')'", text, col)
    if tok.type == "COMMA":
        if _depth_before(text, col) <= 0:
            return ParseError("',' outside a function call", text, col)
        return ParseError("missing operand before ','", text, col)
    if tok.type == "RSQB":
        if text[:col - 1].count("[") <= text[:col - 1].count("]"):
            return ParseError("unmatched ']'", text, col)
        return ParseError("missing subscript before ']': write an index name or ':'", text, col)
    statement = text[:col - 1].rsplit(";", 1)[-1]  # the statement the error is in, up to the error
    if "=" in text and (tok.type == "_SEP" and "=" not in statement or not statement.strip() and ";" in text[:col - 1]):
        return ParseError("only the last statement of a program can be an expression without a name; "
                          "write 'name = expression'", text, col, len(shown))
    if tok.type == "EQUAL":
        return ParseError("'=' defines a name: write 'name = expression' as a statement of its own",
                          text, col)
    if tok.type == "TRANSPOSE":
        return ParseError("a transpose needs an operand before it", text, col)
    if tok.type in _OPERATOR_NAMES or tok.type.startswith("__ANON") or len(shown) <= 2:
        return ParseError(f"missing operand before '{shown}'", text, col, len(shown))
    return ParseError(f"unexpected '{shown}'", text, col, len(shown))


def _load_at_import() -> None:
    """Load the parser and compile its scanner now (a few milliseconds, against an import of
    a few hundred), so that the first parse of a session costs what every later one does."""
    try:
        _parser().parse("x")
    except Exception:  # noqa: BLE001 - the first parse will raise it again, with a clear message
        _parser.cache_clear()


_load_at_import()
