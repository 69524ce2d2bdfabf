"""The Go template subset renders as Go's text/template (with Sprig) would, and refuses what it cannot render."""

from __future__ import annotations

import pytest

from control_plane.platform_package.gotemplate import TemplateError, render


@pytest.mark.parametrize(
    ("template", "data", "expected"),
    [
        pytest.param("a {{ .x }} b", {"x": 1}, "a 1 b", id="field"),
        pytest.param("a  {{- .x -}}  b", {"x": 1}, "a1b", id="trim-markers"),
        pytest.param("{{ .a.b.c }}", {}, "<no value>", id="missing-key-prints-no-value"),
        pytest.param("{{ if .a.b }}yes{{ else }}no{{ end }}", {"a": {}}, "no", id="missing-key-is-false"),
        pytest.param(
            '{{ if eq .a "x" }}A{{ else if eq .a "y" }}B{{ else }}C{{ end }}', {"a": "y"}, "B", id="else-if-chain"
        ),
        pytest.param("{{ with .a }}{{ .b }}{{ else }}none{{ end }}", {"a": {"b": 2}}, "2", id="with-rebinds-dot"),
        pytest.param("{{ with .a }}x{{ else }}none{{ end }}", {"a": 0}, "none", id="with-else"),
        pytest.param("{{ range $i, $v := .l }}{{ $i }}={{ $v }};{{ end }}", {"l": ["a", "b"]}, "0=a;1=b;", id="range"),
        pytest.param(
            "{{ range $k, $v := .m }}{{ $k }}{{ $v }}{{ end }}", {"m": {"b": 2, "a": 1}}, "a1b2", id="range-map"
        ),
        pytest.param("{{ range .l }}x{{ else }}empty{{ end }}", {"l": []}, "empty", id="range-else"),
        pytest.param(
            "{{ $n := 0 }}{{ range .l }}{{ $n = . }}{{ end }}{{ $n }}",
            {"l": [1, 2]},
            "2",
            id="assignment-reaches-outer",
        ),
        pytest.param("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ end }}{{ $x }}", {}, "1", id="block-scoped-variables"),
        pytest.param('{{ printf "%s-%d" "a" 3 | quote }}', {}, '"a-3"', id="printf-and-pipe"),
        pytest.param("{{ .m | toYaml | nindent 2 }}", {"m": {"b": 1, "a": "x"}}, "\n  a: x\n  b: 1", id="toyaml"),
        pytest.param('{{ "abcdef-" | trunc 7 | trimSuffix "-" }}', {}, "abcdef", id="trunc-trimsuffix"),
        pytest.param('{{ .x | default "d" }}', {"x": ""}, "d", id="default"),
        pytest.param('{{ (dict "a" 1).a }}', {}, "1", id="parenthesised-pipeline-field"),
        pytest.param("{{ len (append (list 1) 2) }}", {}, "2", id="list-append"),
        pytest.param('{{ index .m "k.with.dots" }}', {"m": {"k.with.dots": "v"}}, "v", id="index"),
        pytest.param("{{- /* a comment */ -}} x", {}, "x", id="comment"),
        pytest.param('{{ "}}" }}', {}, "}}", id="delimiter-inside-a-string"),
        pytest.param("{{ $.x }}{{ with .y }}{{ $.x }}{{ end }}", {"x": 1, "y": 2}, "11", id="dollar-is-the-input"),
    ],
)
def test_renders_like_go(template, data, expected):
    assert render(template, data) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param('{{ define "x" }}{{ end }}', "{{ define }} is outside the Go template subset", id="define"),
        pytest.param("{{ sha256sum .x }}", "function 'sha256sum' is outside the Go template subset", id="function"),
        pytest.param("{{ if .x }}", "{{ if }} has no {{ end }}", id="unclosed-block"),
        pytest.param("a\n{{ .x ", "template line 2: unclosed action", id="unclosed-action"),
        pytest.param("{{ $y }}", "undefined variable $y", id="undefined-variable"),
        pytest.param('{{ printf "%x" 1 }}', "printf verb %x is outside the subset", id="printf-verb"),
    ],
)
def test_refuses_what_it_cannot_render_and_says_so(template, message):
    with pytest.raises(TemplateError, match=message.replace("{", r"\{").replace("}", r"\}").replace("$", r"\$")):
        render(template, {"x": 1})


def test_custom_delimiters():
    assert render("[[ .x ]] {{ .x }}", {"x": 1}, left="[[", right="]]") == "1 {{ .x }}"
