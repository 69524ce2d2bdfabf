"""A rule's `fieldPath` (a JSON path such as `.a.b` or `.m['k.x']`) resolved against the schema."""

from __future__ import annotations

from control_plane.kubeapi.cel.declarations import SchemaNode


def field_path(json_path: str, node: SchemaNode) -> str | None:
    """ValidFieldPath: a rule's `fieldPath` (`.a.b`, `.m['k.x']`) as a field.Path string, or None if it is invalid."""
    tokens = _path_tokens(json_path)
    rendered = ""
    index = 0
    current = node
    while index < len(tokens):
        part = tokens[index]
        if part == "[":
            if index + 2 >= len(tokens) or tokens[index + 2] != "]":
                return None
            name = _unquote(tokens[index + 1])
            index += 3
        elif part == "." and index + 1 < len(tokens):
            name = tokens[index + 1]
            index += 2
        else:
            return None
        if name is None:
            return None
        if current.properties:
            child = current.properties.get(name)
            if child is None:
                return None
            rendered += f".{name}" if rendered else name
            current = child
        elif current.additional is not None:
            rendered += f"[{name}]"
            current = current.additional
        else:
            return None
    return rendered


def _path_tokens(text: str) -> list[str]:
    """The JSON path split into '.', '[', ']', single-quoted strings and names, as upstream's scanner does."""
    tokens: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        end = index + 1
        if char == "'":
            while end < len(text) and not (text[end] == "'" and text[end - 1] != "\\"):
                end += 1
            end = min(end + 1, len(text))
        elif char not in ".[]":
            while end < len(text) and text[end] not in ".[]":
                end += 1
        tokens.append(text[index:end])
        index = end
    return tokens


_QUOTE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "'": "'", "\\": "\\"}


def _unquote(token: str) -> str | None:
    if len(token) < 2 or token[0] != "'" or token[-1] != "'":
        return None
    out: list[str] = []
    body = token[1:-1]
    index = 0
    while index < len(body):
        if body[index] == "\\":
            escaped = _QUOTE_ESCAPES.get(body[index + 1 : index + 2])
            if escaped is None:
                return None
            out.append(escaped)
            index += 2
        else:
            out.append(body[index])
            index += 1
    return "".join(out)
