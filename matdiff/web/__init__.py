"""``matdiff serve``: a local web page for matdiff, with a JSON API behind it.

The page (``static/``) sends what ``matdiff --format json`` prints to
``POST /api/diff`` and shows the object it gets back; KaTeX, shipped in
``static/katex``, typesets it. ``app.py`` has the routes, ``derive.py`` the
round trip and its limits, ``pool.py`` the worker processes that derive,
``serve.py`` the command line. Only matdiff's public API is used."""
