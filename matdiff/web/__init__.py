"""``matdiff serve``: a local web page for matdiff, with a JSON API behind it.

The page (``static/``) sends what ``matdiff --format json`` prints to
``POST /api/diff`` and shows the object it gets back; KaTeX, shipped in
``static/katex``, typesets it. ``app.py`` has the routes, ``derive.py`` the
round trip and its limits, ``pool.py`` the worker processes that derive,
``serve.py`` the command line. Derivations go through matdiff's public API
alone; the table of symbols also reads the names an untyped expression is
written with (``matdiff.frontend.syntax``) and the declared functions it calls."""
