"""Kubernetes label selectors (`app=web,tier!=db,env in (prod,staging),!canary`) as a Django Q over `labels`.

Equality becomes jsonb containment (`labels @> {"app": "web"}`), which the `jsonb_path_ops` GIN index on
`Resource.labels` answers; `!=` and `notin` are its negation and, as in Kubernetes, also match objects without the
key. Key existence (`key`, `!key`) uses `?`, which that index cannot answer: it filters what the other conditions
found. Requirements are ANDed. `>` and `<` (Gt/Lt) are refused: devplat has no use for numeric label ranges.

`parse_label_selector` also gives the part of a selector that index answers on its own (its `=`, `==` and `in`
requirements), so a caller can ask the index first (see control_plane.selectors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Q

SYNTAX = "app=web, app!=web, app in (web,api), app notin (web,api), app (has the key) or !app (lacks it)"

_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# Operators and separators; anything else up to the next one of these (or whitespace) is a word.
_TOKEN = re.compile(r"\s*(==|!=|=|!|\(|\)|,|<|>|[^\s=!(),<>]+)")


@dataclass(frozen=True)
class _Token:
    text: str
    at: int  # offset in the selector, for messages

    @property
    def is_word(self) -> bool:
        return self.text not in {"==", "!=", "=", "!", "(", ")", ",", "<", ">"}


class _Parser:
    """A recursive-descent parser over the tokens of one selector, building the Q as it goes."""

    def __init__(self, selector: str) -> None:
        self.selector = selector
        self.tokens = _tokenize(selector)
        self.pos = 0

    def fail(self, why: str) -> ValueError:
        return ValueError(f"invalid label selector {self.selector!r}: {why}. Write requirements like {SYNTAX}.")

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token | None:
        token = self.peek()
        self.pos += token is not None
        return token

    def expect(self, text: str, after: str) -> None:
        token = self.take()
        if token is None or token.text != text:
            found = f"{token.text!r} at {token.at}" if token else "the end"
            raise self.fail(f"expected {text!r} after {after}, found {found}")

    def word(self, what: str) -> str:
        token = self.take()
        if token is None or not token.is_word:
            found = f"{token.text!r} at {token.at}" if token else "the end"
            raise self.fail(f"expected {what}, found {found}")
        return token.text

    def parse(self) -> LabelSelector:
        parsed = LabelSelector()
        while True:
            query, indexed = self.requirement()
            parsed.q &= query
            if indexed:
                parsed.indexed = query if parsed.indexed is None else parsed.indexed & query
            token = self.take()
            if token is None:
                return parsed
            if token.text != ",":
                raise self.fail(f"expected ',' between requirements, found {token.text!r} at {token.at}")

    def requirement(self) -> tuple[Q, bool]:
        """One requirement's Q, and whether the labels index answers it alone (containment, not its negation)."""
        token = self.peek()
        if token is not None and token.text == "!":
            self.take()
            return ~Q(labels__has_key=self.key()), False
        key = self.key()
        token = self.peek()
        if token is None or token.text == ",":
            return Q(labels__has_key=key), False
        self.take()
        if token.text in ("=", "=="):
            return _equals(key, self.value(after=f"{key}{token.text}")), True
        if token.text == "!=":
            return ~_equals(key, self.value(after=f"{key}!=")), False
        if token.text in ("in", "notin"):
            values = self.values(f"{key} {token.text}")
            query = Q()
            for value in values:
                query |= _equals(key, value)
            return (query, True) if token.text == "in" else (~query, False)
        if token.text in ("<", ">"):
            raise self.fail(f"{token.text!r} (numeric comparison) is not supported; list the values with 'in (...)'")
        raise self.fail(f"expected an operator (=, ==, !=, in, notin) after {key!r}, found {token.text!r}")

    def key(self) -> str:
        key = self.word("a label key")
        problem = _key_problem(key)
        if problem:
            raise self.fail(f"invalid label key {key!r}: {problem}")
        return key

    def value(self, *, after: str) -> str:
        token = self.peek()
        if token is None or token.text in (",", ")"):
            return ""  # `app=` selects an empty value, as in Kubernetes
        value = self.word(f"a value after {after!r}")
        problem = _value_problem(value)
        if problem:
            raise self.fail(f"invalid label value {value!r}: {problem}")
        return value

    def values(self, after: str) -> list[str]:
        self.expect("(", after=repr(after))
        token = self.peek()
        if token is not None and token.text == ")":
            raise self.fail(f"the value list of {after!r} is empty")
        values = [self.value(after=f"{after} (")]
        while (token := self.take()) is not None and token.text == ",":
            values.append(self.value(after=f"{after} (..., "))
        if token is None or token.text != ")":
            found = f"{token.text!r} at {token.at}" if token else "the end"
            raise self.fail(f"expected ',' or ')' in the value list of {after!r}, found {found}")
        return values


def _tokenize(selector: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(selector):
        match = _TOKEN.match(selector, pos)
        if match is None:  # only trailing whitespace is left
            break
        tokens.append(_Token(match.group(1), match.start(1)))
        pos = match.end()
    return tokens


def _equals(key: str, value: str) -> Q:
    return Q(labels__contains={key: value})


def _key_problem(key: str) -> str:
    """Why `key` is not a Kubernetes qualified name (`[prefix/]name`), or "" when it is one."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _PREFIX.fullmatch(prefix)):
        return "the prefix before '/' must be a DNS subdomain (lowercase, e.g. app.kubernetes.io)"
    if not name or len(name) > 63 or not _NAME.fullmatch(name):
        return (
            "the name must be at most 63 characters of letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return ""


def _value_problem(value: str) -> str:
    """Why `value` is not a valid label value, or "" when it is one (the empty value is valid)."""
    if len(value) > 63 or (value and not _NAME.fullmatch(value)):
        return "a value is at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with one"
    return ""


@dataclass
class LabelSelector:
    """A parsed selector: `q` selects the resources whose labels match it; `indexed` (None when there is none) is
    the conjunction of its containment requirements, which the labels GIN index answers alone: every match of `q`
    matches `indexed`."""

    q: Q = field(default_factory=Q)
    indexed: Q | None = None


def parse_label_selector(selector: str | None) -> LabelSelector:
    """`selector` parsed; an empty one selects everything.

    Raises ValueError saying what is wrong, and how to write it, for a selector Kubernetes would refuse.
    """
    if selector is None or not selector.strip():
        return LabelSelector()
    return _Parser(selector).parse()


def label_selector_q(selector: str | None) -> Q:
    """The Q selecting resources whose labels match `selector`; an empty Q (everything) for an empty selector.

    Raises ValueError saying what is wrong, and how to write it, for a selector Kubernetes would refuse.
    """
    return parse_label_selector(selector).q
