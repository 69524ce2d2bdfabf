"""A small, explicit subset of Go's text/template (plus the Sprig functions compositions use), to render
function-go-templating's inline templates against example composites.

Why render instead of substituting placeholders for `{{ ... }}`: conditionals, loops and `toYaml | nindent` decide
the shape of the YAML, so a placeholder pass produces documents that are not what Crossplane would apply. Rendering
a template the way function-go-templating does, with an example composite and its environment as the input, gives
real documents to validate.

The subset, with Go's semantics where it has them:
- actions `{{ pipeline }}`, `{{ $x := pipeline }}`, `{{ $x = pipeline }}`, comments `{{/* ... */}}`, the trim
  markers `{{-` and `-}}`, custom delimiters;
- `if` / `else if` / `else`, `with` / `else`, `range` (over lists, maps in key order, with `$i, $v :=` or `$v :=`)
  with `else`; variables scoped to their block, `$` the input;
- pipelines with `|`, parenthesised pipelines, field chains on `.`, variables and parentheses (a missing map key is
  `<no value>` when printed and false in conditions, as with Go's default `missingkey`);
- functions: and, or, not, eq, ne, lt, le, gt, ge, len, index, print, printf (verbs %s %d %v %q %%), and from Sprig
  default, empty, quote, toYaml, toJson, indent, nindent, trunc, trimSuffix, trimPrefix, lower, upper, dict, list,
  append, hasKey.
Anything else (`define`, `template`, `block`, `break`, `continue`, other functions) raises `TemplateError` naming
the construct, so a template the subset cannot render is reported, never silently mis-rendered.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml


class TemplateError(Exception):
    """The template cannot be rendered: a syntax error, an evaluation error or a construct outside the subset."""


NO_VALUE = "<no value>"
_UNSUPPORTED_KEYWORDS = ("define", "template", "block", "break", "continue")


# --- lexing: text and actions ------------------------------------------------------------------------------------


@dataclass
class _Piece:
    text: str
    line: int
    is_action: bool = False
    trim_left: bool = False
    trim_right: bool = False


def _pieces(source: str, left: str, right: str) -> list[_Piece]:
    """Split the template into text and action pieces, honouring quotes inside actions and the trim markers."""
    pieces: list[_Piece] = []
    position = 0
    while True:
        start = source.find(left, position)
        if start < 0:
            pieces.append(_Piece(source[position:], _line(source, position)))
            break
        pieces.append(_Piece(source[position:start], _line(source, position)))
        inner = start + len(left)
        end = _action_end(source, inner, right, _line(source, start))
        content = source[inner:end]
        trim_left = content.startswith("- ") or content == "-"
        trim_right = content.endswith(" -")
        content = content[2 if trim_left else 0 : len(content) - 2 if trim_right else len(content)]
        pieces.append(_Piece(content.strip(), _line(source, start), True, trim_left, trim_right))
        position = end + len(right)
    for index, piece in enumerate(pieces):
        if not piece.is_action:
            continue
        if piece.trim_left and index > 0:
            pieces[index - 1].text = pieces[index - 1].text.rstrip(" \t\r\n")
        if piece.trim_right and index + 1 < len(pieces):
            pieces[index + 1].text = pieces[index + 1].text.lstrip(" \t\r\n")
    return [p for p in pieces if p.is_action or p.text]


def _action_end(source: str, position: int, right: str, line: int) -> int:
    """Where the action opened before `position` closes: past quoted strings, and past `*/` in a comment."""
    if source[position:].lstrip("- ").startswith("/*"):
        close = source.find("*/", position)
        end = source.find(right, close + 2) if close >= 0 else -1
        if end < 0:
            raise TemplateError(f"template line {line}: unclosed comment")
        return end
    index = position
    while index < len(source):
        char = source[index]
        if char in "\"`'":
            close = _closing_quote(source, index)
            if close < 0:
                raise TemplateError(f"template line {line}: unterminated quoted string")
            index = close + 1
            continue
        if source.startswith(right, index):
            return index
        index += 1
    raise TemplateError(f"template line {line}: unclosed action (no {right!r})")


def _closing_quote(source: str, start: int) -> int:
    quote = source[start]
    index = start + 1
    while index < len(source):
        if source[index] == "\\" and quote != "`":
            index += 2
            continue
        if source[index] == quote:
            return index
        if source[index] == "\n" and quote != "`":
            return -1
        index += 1
    return -1


def _line(source: str, position: int) -> int:
    return source.count("\n", 0, position) + 1


# --- lexing: inside an action --------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<comma>,)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<variable>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
  | (?P<identifier>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(action: str, line: int) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(action):
        match = _TOKEN.match(action, position)
        if match is None:
            raise TemplateError(f"template line {line}: cannot read {action[position:]!r} in {{{{ {action} }}}}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group()))
        position = match.end()
    return tokens


# --- parsing -------------------------------------------------------------------------------------------------------


@dataclass
class _Term:
    """One operand: a literal, a variable or field chain, a function name or a parenthesised pipeline."""

    kind: str  # "literal" | "variable" | "field" | "function" | "pipeline"
    value: Any
    chain: tuple[str, ...] = ()


@dataclass
class _Command:
    terms: list[_Term]


@dataclass
class _Pipeline:
    commands: list[_Command]
    variables: tuple[str, ...] = ()
    declare: bool = True
    line: int = 0


@dataclass
class _Node:
    kind: str  # "text" | "action" | "if" | "with" | "range"
    line: int = 0
    text: str = ""
    pipeline: _Pipeline = field(default_factory=lambda: _Pipeline([]))  # empty for text
    body: list[_Node] = field(default_factory=list)
    otherwise: list[_Node] = field(default_factory=list)


class _Parser:
    def __init__(self, pieces: list[_Piece]) -> None:
        self.pieces = pieces
        self.position = 0

    def parse(self) -> list[_Node]:
        nodes, stop = self._list()
        if stop is not None:
            raise TemplateError(f"template line {stop.line}: unexpected {{{{ {stop.text} }}}}")
        return nodes

    def _list(self) -> tuple[list[_Node], _Piece | None]:
        """Nodes up to an `else` or `end` (returned as the stop piece) or the end of the template."""
        nodes: list[_Node] = []
        while self.position < len(self.pieces):
            piece = self.pieces[self.position]
            self.position += 1
            if not piece.is_action:
                nodes.append(_Node("text", piece.line, text=piece.text))
                continue
            if piece.text.startswith("/*"):
                continue
            keyword = piece.text.split(None, 1)[0] if piece.text else ""
            if keyword in ("else", "end"):
                return nodes, piece
            if keyword in _UNSUPPORTED_KEYWORDS:
                raise TemplateError(
                    f"template line {piece.line}: {{{{ {keyword} }}}} is outside the Go template subset that "
                    "`devplat crossplane validate` renders; rewrite the template without it"
                )
            if keyword in ("if", "with", "range"):
                nodes.append(self._block(keyword, piece.text[len(keyword) :], piece.line))
            else:
                nodes.append(_Node("action", piece.line, pipeline=_parse_pipeline(piece.text, piece.line)))
        return nodes, None

    def _block(self, keyword: str, rest: str, line: int) -> _Node:
        node = _Node(keyword, line, pipeline=_parse_pipeline(rest, line, allow_pair=keyword == "range"))
        node.body, stop = self._list()
        if stop is None:
            raise TemplateError(f"template line {line}: {{{{ {keyword} }}}} has no {{{{ end }}}}")
        if stop.text == "end":
            return node
        rest = stop.text[len("else") :].strip()
        if not rest:
            node.otherwise, stop = self._list()
            if stop is None or stop.text != "end":
                raise TemplateError(f"template line {stop.line if stop else line}: expected {{{{ end }}}}")
            return node
        chained = rest.split(None, 1)[0]
        if chained not in ("if", "with") or (keyword == "range"):
            raise TemplateError(f"template line {stop.line}: unexpected {{{{ {stop.text} }}}}")
        # `else if x` is an `if` nested in the else branch that shares the outer `end`.
        node.otherwise = [self._block(chained, rest[len(chained) :], stop.line)]
        return node


def _parse_pipeline(text: str, line: int, allow_pair: bool = False) -> _Pipeline:
    tokens = _tokens(text, line)
    if not tokens:
        raise TemplateError(f"template line {line}: missing value in {{{{ {text.strip()} }}}}")
    variables, declare, tokens = _declaration(tokens, text, line, allow_pair)
    commands, rest = _parse_commands(tokens, line)
    if rest:
        raise TemplateError(f"template line {line}: unexpected {rest[0].text!r} in {{{{ {text.strip()} }}}}")
    return _Pipeline(commands, variables, declare, line)


def _declaration(
    tokens: list[_Token], text: str, line: int, allow_pair: bool
) -> tuple[tuple[str, ...], bool, list[_Token]]:
    """Split `$x := pipeline` (or `$i, $v :=` in a range, or `$x = ...`) into names, declare-or-assign and the rest."""
    for index, token in enumerate(tokens):
        if token.kind not in ("declare", "assign"):
            continue
        names = tokens[:index]
        shape = [t.kind for t in names]
        plain = all("." not in t.text for t in names)
        if plain and (shape == ["variable"] or (allow_pair and shape == ["variable", "comma", "variable"])):
            return tuple(t.text for t in names if t.kind == "variable"), token.kind == "declare", tokens[index + 1 :]
        raise TemplateError(f"template line {line}: cannot declare variables in {{{{ {text.strip()} }}}}")
    return (), True, tokens


def _parse_commands(tokens: list[_Token], line: int) -> tuple[list[_Command], list[_Token]]:
    """Commands separated by `|`, up to an unmatched `)`; returns the commands and the tokens left."""
    commands: list[_Command] = []
    terms: list[_Term] = []
    while tokens and tokens[0].kind != "close":
        token = tokens[0]
        tokens = tokens[1:]
        if token.kind == "pipe":
            if not terms:
                raise TemplateError(f"template line {line}: missing command before |")
            commands.append(_Command(terms))
            terms = []
            continue
        if token.kind == "open":
            inner, tokens = _parse_commands(tokens, line)
            if not tokens:
                raise TemplateError(f"template line {line}: unclosed parenthesis")
            tokens = tokens[1:]
            chain: tuple[str, ...] = ()
            if tokens and tokens[0].kind == "field" and tokens[0].text != ".":
                chain = tuple(tokens[0].text.split(".")[1:])
                tokens = tokens[1:]
            terms.append(_Term("pipeline", _Pipeline(inner, line=line), chain))
            continue
        terms.append(_term(token, line))
    if not terms:
        raise TemplateError(f"template line {line}: missing command")
    commands.append(_Command(terms))
    return commands, tokens


def _term(token: _Token, line: int) -> _Term:
    if token.kind == "string":
        return _Term("literal", ast.literal_eval(token.text))
    if token.kind == "raw":
        return _Term("literal", token.text[1:-1])
    if token.kind == "number":
        return _Term("literal", float(token.text) if any(c in token.text for c in ".eE") else int(token.text))
    if token.kind == "variable":
        name, _, chain = token.text.partition(".")
        return _Term("variable", name, tuple(chain.split(".")) if chain else ())
    if token.kind == "field":
        return _Term("field", None, tuple(token.text.split(".")[1:]) if token.text != "." else ())
    if token.kind == "identifier":
        constants = {"true": True, "false": False, "nil": None}
        if token.text in constants:
            return _Term("literal", constants[token.text])
        return _Term("function", token.text)
    raise TemplateError(f"template line {line}: unexpected {token.text!r}")


# --- evaluation ----------------------------------------------------------------------------------------------------


class _Scope:
    """Variables by block: `:=` declares in the innermost block, `=` assigns where the variable was declared."""

    def __init__(self, root: Any) -> None:
        self.frames: list[dict[str, Any]] = [{"$": root}]

    def push(self) -> None:
        self.frames.append({})

    def pop(self) -> None:
        self.frames.pop()

    def declare(self, name: str, value: Any) -> None:
        self.frames[-1][name] = value

    def assign(self, name: str, value: Any, line: int) -> None:
        for frame in reversed(self.frames):
            if name in frame:
                frame[name] = value
                return
        raise TemplateError(f"template line {line}: undefined variable {name}")

    def get(self, name: str, line: int) -> Any:
        for frame in reversed(self.frames):
            if name in frame:
                return frame[name]
        raise TemplateError(f"template line {line}: undefined variable {name}")


def render(source: str, data: Any, *, left: str = "{{", right: str = "}}") -> str:
    """Render `source` with `data` as dot, the way function-go-templating feeds its request to Go's text/template."""
    nodes = _Parser(_pieces(source, left, right)).parse()
    out: list[str] = []
    _execute(nodes, data, _Scope(data), out)
    return "".join(out)


def _execute(nodes: list[_Node], dot: Any, scope: _Scope, out: list[str]) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "action":
            value = _pipeline(node.pipeline, dot, scope)
            if not node.pipeline.variables:
                out.append(_print(value))
        elif node.kind in ("if", "with"):
            _conditional(node, dot, scope, out)
        else:
            _range(node, dot, scope, out)


def _conditional(node: _Node, dot: Any, scope: _Scope, out: list[str]) -> None:
    scope.push()
    try:
        value = _pipeline(node.pipeline, dot, scope)
        if _truth(value):
            _execute(node.body, value if node.kind == "with" else dot, scope, out)
        else:
            _execute(node.otherwise, dot, scope, out)
    finally:
        scope.pop()


def _range(node: _Node, dot: Any, scope: _Scope, out: list[str]) -> None:
    pipeline = _Pipeline(node.pipeline.commands, line=node.pipeline.line)
    value = _pipeline(pipeline, dot, scope)
    items: list[tuple[Any, Any]]
    if value is None:
        items = []
    elif isinstance(value, dict):
        items = [(key, value[key]) for key in sorted(value)]
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        raise TemplateError(f"template line {node.line}: range can't iterate over {_print(value)}")
    if not items:
        scope.push()
        try:
            _execute(node.otherwise, dot, scope, out)
        finally:
            scope.pop()
        return
    names = node.pipeline.variables
    for key, item in items:
        scope.push()
        try:
            if len(names) == 2:
                scope.declare(names[0], key)
                scope.declare(names[1], item)
            elif names:
                scope.declare(names[0], item)
            _execute(node.body, item, scope, out)
        finally:
            scope.pop()


def _pipeline(pipeline: _Pipeline, dot: Any, scope: _Scope) -> Any:
    value: Any = None
    for index, command in enumerate(pipeline.commands):
        value = _command(command, dot, scope, pipeline.line, value if index else _NOTHING)
    if len(pipeline.variables) == 1:
        if pipeline.declare:
            scope.declare(pipeline.variables[0], value)
        else:
            scope.assign(pipeline.variables[0], value, pipeline.line)
    return value


_NOTHING = object()  # no piped value: the first command of a pipeline


def _command(command: _Command, dot: Any, scope: _Scope, line: int, piped: Any) -> Any:
    first = command.terms[0]
    if first.kind == "function":
        args = [_operand(term, dot, scope, line) for term in command.terms[1:]]
        if piped is not _NOTHING:
            args.append(piped)
        return _call(first.value, args, line)
    if len(command.terms) > 1 or piped is not _NOTHING:
        raise TemplateError(f"template line {line}: can't give arguments to a non-function value")
    return _operand(first, dot, scope, line)


def _operand(term: _Term, dot: Any, scope: _Scope, line: int) -> Any:
    if term.kind == "literal":
        return term.value
    if term.kind == "function":
        return _call(term.value, [], line)
    if term.kind == "variable":
        base = scope.get(term.value, line)
    elif term.kind == "field":
        base = dot
    else:
        base = _pipeline(term.value, dot, scope)
    for name in term.chain:
        if base is None:
            return None
        if not isinstance(base, dict):
            raise TemplateError(f"template line {line}: can't evaluate field {name} in {_print(base)!r}")
        base = base.get(name)
    return base


def _truth(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, int | float | str | list | dict):
        return bool(value)
    return True


def _print(value: Any) -> str:
    """How Go's text/template prints a value (fmt's %v)."""
    if value is None:
        return NO_VALUE
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{_print(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_print(item) for item in value) + "]"
    return str(value)


# --- functions -----------------------------------------------------------------------------------------------------


def _call(name: str, args: list[Any], line: int) -> Any:
    function = _FUNCTIONS.get(name)
    if function is None:
        raise TemplateError(
            f"template line {line}: function {name!r} is outside the Go template subset that "
            f"`devplat crossplane validate` renders (it knows {', '.join(sorted(_FUNCTIONS))})"
        )
    try:
        return function(*args)
    except TemplateError as error:
        raise TemplateError(f"template line {line}: {name}: {error}") from None
    except (TypeError, ValueError, KeyError, IndexError) as error:
        raise TemplateError(f"template line {line}: error calling {name}: {error}") from None


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        if item is None:
            raise TemplateError("index of untyped nil")
        if isinstance(item, dict):
            item = item.get(key)
        elif isinstance(item, list) and isinstance(key, int):
            if not 0 <= key < len(item):
                raise TemplateError(f"index out of range: {key}")
            item = item[key]
        else:
            raise TemplateError(f"can't index {_print(item)} with {_print(key)}")
    return item


def _printf(template: str, *args: Any) -> str:
    values = iter(args)

    def verb(match: re.Match[str]) -> str:
        letter = match.group(1)
        if letter == "%":
            return "%"
        value = next(values, _NOTHING)
        if value is _NOTHING:
            return f"%!{letter}(MISSING)"
        if letter in ("s", "v"):
            return _print(value)
        if letter == "d" and isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if letter == "q" and isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
        if letter in ("d", "q"):
            return f"%!{letter}({_print(value)})"
        raise TemplateError(f"printf verb %{letter} is outside the subset (use %s, %d, %v or %q)")

    return re.sub(r"%([a-zA-Z%])", verb, template)


def _empty(value: Any) -> bool:
    return not _truth(value)


def _default(fallback: Any, *given: Any) -> Any:
    return given[0] if given and not _empty(given[0]) else fallback


def _to_yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=True).removesuffix("\n").removesuffix("\n...")


def _indent(spaces: int, text: str) -> str:
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def _trunc(length: int, text: str) -> str:
    return text[:length] if length >= 0 else text[length:]


def _dict(*pairs: Any) -> dict[str, Any]:
    if len(pairs) % 2:
        pairs = (*pairs, "")
    return {str(pairs[i]): pairs[i + 1] for i in range(0, len(pairs), 2)}


def _compare(check: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        if type(left) is not type(right) and not (isinstance(left, int | float) and isinstance(right, int | float)):
            raise TemplateError(f"incompatible types for comparison: {_print(left)} and {_print(right)}")
        return check(left, right)

    return compare


def _and(*args: Any) -> Any:
    return next((arg for arg in args if not _truth(arg)), args[-1])


def _or(*args: Any) -> Any:
    return next((arg for arg in args if _truth(arg)), args[-1])


def _each(values: tuple[Any, ...]) -> Iterator[str]:
    return (_print(value) for value in values if value is not None)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "and": _and,
    "or": _or,
    "not": lambda value: not _truth(value),
    "eq": lambda left, *rights: any(left == right for right in rights),
    "ne": lambda left, right: left != right,
    "lt": _compare(lambda a, b: a < b),
    "le": _compare(lambda a, b: a <= b),
    "gt": _compare(lambda a, b: a > b),
    "ge": _compare(lambda a, b: a >= b),
    "len": len,
    "index": _index,
    "print": lambda *values: "".join(_print(value) for value in values),
    "printf": _printf,
    "default": _default,
    "empty": _empty,
    "quote": lambda *values: " ".join(json.dumps(value, ensure_ascii=False) for value in _each(values)),
    "toYaml": _to_yaml,
    "toJson": lambda value: json.dumps(value, separators=(",", ":")),
    "indent": _indent,
    "nindent": lambda spaces, text: "\n" + _indent(spaces, text),
    "trunc": _trunc,
    "trimSuffix": lambda suffix, text: text.removesuffix(suffix),
    "trimPrefix": lambda prefix, text: text.removeprefix(prefix),
    "lower": lambda text: text.lower(),
    "upper": lambda text: text.upper(),
    "dict": _dict,
    "list": lambda *values: list(values),
    "append": lambda values, value: [*(values or []), value],
    "hasKey": lambda mapping, key: key in mapping,
}
