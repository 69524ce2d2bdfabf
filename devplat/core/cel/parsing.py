"""cel-python's parser behind one lock for the whole process."""

from __future__ import annotations

import threading

import celpy
import lark

# cel-python keeps its lark parser on the CELParser class, shared by every Environment, and does not promise that it
# is thread-safe: one lock for every caller, whichever environment it compiles with.
_ENVIRONMENT = celpy.Environment()
_PARSE_LOCK = threading.Lock()


def parse(source: str) -> lark.Tree:
    """The parse tree of `source`; raises cel-python's CELParseError (with line and column) on a syntax error."""
    with _PARSE_LOCK:
        return _ENVIRONMENT.compile(source)
