"""Policy expressions: compile errors say what and where, programs are compiled once, and evaluation is cost-limited."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError

from governance.models import Policy
from governance.policies import expressions
from governance.policies.expressions import (
    COST_LIMIT,
    MAX_EXPRESSION_LENGTH,
    MAX_NESTING,
    CompileError,
    EvaluationError,
    compile_expression,
    to_cel,
)


def expression_error(expression: str) -> str:
    """The message Policy.clean() puts on the expression field."""
    policy = Policy(name="p", expression=expression, message="m")
    with pytest.raises(ValidationError) as raised:
        policy.clean()
    return " ".join(raised.value.message_dict["expression"])


def evaluate(expression: str, obj: dict, **context: str) -> bool:
    return compile_expression(expression).evaluate({"object": to_cel(obj), "context": to_cel(context)})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("object.spec.size ==", "syntax error at line 1, column 18: the expression ends too early"),
        ("object.spec.size == && 2", "syntax error at line 1, column 21: unexpected '&&'"),
        ("object.spec.name == 'db", 'syntax error at line 1, column 21: unexpected character "\'" (an unterminated'),
        ("true &&\n  object.spec #x", "syntax error at line 2, column 15: unexpected character '#'"),
        ("self.spec.size == 'small'", "undeclared reference to 'self' at line 1, column 1 (declared: context, object)"),
        ("true &&\n  spec.public", "undeclared reference to 'spec' at line 2, column 3"),
        ("object.spec.items.all(i, j > 1)", "undeclared reference to 'j' at line 1, column 26 (declared: context, i,"),
        ("context.tem == 'a'", "undefined field 'tem' of context at line 1, column 9 (fields: actor, capability,"),
        ("lowerAscii(object.kind) == 'x'", "unknown function 'lowerAscii' at line 1, column 1"),
        ("object.kind.lowerAscii() == 'x'", "unknown method 'lowerAscii' at line 1, column 13"),
        ("object.spec.items.reduce(r, i, 0, r + i) > 2", "unknown method 'reduce'"),
        ("object.spec.items.map(i, j, i) == []", "map() takes a variable name and an expression"),
        ("has(object)", "has() takes one field selection, e.g. has(object.spec.backups)"),
        ("size(object.spec.items)", "the expression must evaluate to a bool (true means allowed), not int"),
        ("context", "must evaluate to a bool (true means allowed), not map"),
        ("Database{size: 'small'}", "message construction"),
        ("   ", "the expression is empty"),
    ],
)
def test_clean_reports_what_is_wrong_with_the_expression_and_where(expression, expected):
    assert expected in expression_error(expression)


def test_clean_reports_every_problem_at_once():
    message = expression_error("foo == 1 && context.nope == 'x'")
    assert "undeclared reference to 'foo' at line 1, column 1" in message
    assert "undefined field 'nope' of context at line 1, column 21" in message


@pytest.mark.parametrize(
    "expression",
    [
        "has(object.spec.backups) && object.spec.backups.enabled == true",
        "object.spec.items.all(i, i.name != context.team) || context.environment != 'prod'",
        "object.spec.image.matches('^[^:]+:[^:]+$') && !object.spec.image.endsWith(':latest')",
        "object.spec.members.exists_one(m, m.role == 'admin') ? true : context.actor in ['root']",
        "size(object.spec.items.filter(i, i.size > 1).map(i, i.name)) <= 3",
        "type(object.spec.replicas) == int && int(object.spec.replicas) >= 1",
        "object.spec.replicas",  # not known to be a bool until it runs: checked at evaluation
    ],
)
def test_well_formed_expressions_compile(expression):
    assert compile_expression(expression).source == expression


def test_an_expression_over_the_length_limit_is_refused_before_parsing():
    expression = " && ".join(["true"] * (MAX_EXPRESSION_LENGTH // 8 + 1))
    assert len(expression) > MAX_EXPRESSION_LENGTH
    assert f"characters long; the limit is {MAX_EXPRESSION_LENGTH}" in expression_error(expression)


def test_an_expression_nested_deeper_than_the_limit_is_refused():
    message = expression_error("(" * 200 + "true" + ")" * 200)
    assert re.search(rf"the expression nests too deeply \(\d+ parse-tree levels; the limit is {MAX_NESTING}\)", message)


def test_nesting_just_under_the_limit_still_evaluates():
    """The nesting limit keeps evaluation (recursive) well inside Python's recursion limit."""
    nested = "(" * 26 + "object.spec.items.all(i, [i].exists(j, j == i))" + ")" * 26
    program = compile_expression(nested)
    assert program.evaluate({"object": to_cel({"spec": {"items": [1, 2]}}), "context": to_cel({})}) is True


def test_a_program_is_compiled_once_per_expression_text():
    text = "has(object.spec.replicas) && object.spec.replicas <= 3"
    first = compile_expression(text)
    misses = compile_expression.cache_info().misses

    assert compile_expression(text) is first
    assert evaluate(text, {"spec": {"replicas": 2}}) is True
    assert compile_expression.cache_info().misses == misses


def test_compile_errors_are_not_cached_as_programs():
    with pytest.raises(CompileError, match="undeclared reference to 'nope'"):
        compile_expression("nope")
    with pytest.raises(CompileError, match="undeclared reference to 'nope'"):
        compile_expression("nope")


@pytest.mark.parametrize(
    ("expression", "obj", "expected"),
    [
        ("object.spec.backups.enabled == true", {"spec": {}}, "no such key: backups"),
        ("object.spec.size < 1", {"spec": {"size": "small"}}, "no such overload: string < int"),
        ("object.spec.size.name == 'x'", {"spec": {"size": "s"}}, "cannot select a field of a value of type string"),
        ("object.spec.items[3] == 1", {"spec": {"items": [1]}}, "index out of bounds"),
        ("object.spec.replicas / 0 == 1", {"spec": {"replicas": 2}}, "division by zero"),
        ("object.spec.image.matches('[')", {"spec": {"image": "x"}}, "invalid regular expression: missing ]"),
        ("object.spec.replicas", {"spec": {"replicas": 2}}, "the expression returned int, not a bool"),
    ],
)
def test_evaluation_errors_are_worded_as_cel_does(expression, obj, expected):
    with pytest.raises(EvaluationError) as raised:
        evaluate(expression, obj)
    assert str(raised.value) == expected or str(raised.value).startswith(expected)


def test_context_is_visible_to_the_expression():
    expression = "context.team == 'payments' && context.environment == 'prod' && context.actor == 'alice'"
    assert evaluate(expression, {}, team="payments", environment="prod", actor="alice") is True
    assert evaluate(expression, {}, team="search", environment="prod", actor="alice") is False


ITEMS = {"spec": {"items": list(range(400))}}
NESTED = "object.spec.items.all(a, object.spec.items.all(b, a != b || a == b))"


def test_nested_comprehensions_over_a_large_list_stop_at_the_cost_limit():
    with pytest.raises(EvaluationError) as raised:
        evaluate(NESTED, ITEMS)
    assert str(raised.value) == (
        f"the evaluation exceeded the cost limit of {COST_LIMIT} steps; "
        "iterate over fewer items or avoid nesting comprehensions"
    )


def test_the_same_expression_over_a_small_list_is_within_the_limit():
    assert evaluate(NESTED, {"spec": {"items": list(range(20))}}) is True


def test_a_value_doubling_on_every_step_stops_at_the_cost_limit_long_before_it_fills_memory():
    """30 doublings of a 1000-character string would be a terabyte; each step pays for the size it produces."""
    doubling = "[object.spec.name]" + ".map(s, s + s)" * 30 + "[0].size() > 0"
    with pytest.raises(EvaluationError, match="exceeded the cost limit"):
        evaluate(doubling, {"spec": {"name": "x" * 1000}})


def test_an_evaluation_past_its_deadline_stops_with_the_time_limit(monkeypatch):
    monkeypatch.setattr(expressions, "EVALUATION_DEADLINE_SECONDS", 0)
    with pytest.raises(EvaluationError, match=r"^the evaluation exceeded the time limit of 0 s$"):
        evaluate("object.spec.replicas > 1", {"spec": {"replicas": 2}})


def test_matches_runs_on_re2_so_a_catastrophic_pattern_finishes():
    """Under a backtracking engine this pattern takes 2^40 steps on this input; RE2 is linear."""
    assert evaluate("object.spec.name.matches('^(a+)+$')", {"spec": {"name": "a" * 40 + "!"}}) is False
