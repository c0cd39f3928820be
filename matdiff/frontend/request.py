"""What a caller asks for, read the same way by the command line and the web page:
variables written as one text, and declarations that the expression does not use."""
from __future__ import annotations

from typing import Any

from ..core.declared import calls


def split_variables(text: str) -> list[str]:
    """W,b → ['W', 'b']; a comma inside brackets belongs to an indexed part (Phi[:,a,b])."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return parts + [cur.strip()]


def unused_declarations(types: dict[str, str], result: Any) -> list[str]:
    """A declared name the expression lacks is said, never silently ignored; a declared
    function occurs when it is called.  ``result`` is a result or a mapping of results."""
    function = result.function if hasattr(result, "function") else next(iter(result.values())).function
    called = {c.name for c in calls(function)}
    return [f"'{name}' is declared {kind} but does not occur in the expression"
            for name, kind in types.items() if name not in result.symbols and name not in called]
