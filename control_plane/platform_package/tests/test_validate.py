"""`validate_package`: a small good package passes, and each kind of mistake in a copy of it fails with a message
that names the mistake and the fix. The real `crossplane/` package passes against the upstream CRDs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from control_plane.platform_package.cli import default_crds, default_package
from control_plane.platform_package.crds import CrdDirectoryError
from control_plane.platform_package.package import validate_package

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOOD = FIXTURES / "good"
CRDS = FIXTURES / "crds"


@pytest.fixture
def package(tmp_path):
    """A copy of the good package; `package(file, old, new)` makes one mistake in it and returns its root."""
    root = tmp_path / "widgets"
    shutil.copytree(GOOD, root)

    def mistake(file: str, old: str, new: str) -> Path:
        path = root / file
        text = path.read_text() if path.exists() else ""
        assert old in text, f"{old!r} is not in {file}"
        path.write_text(text.replace(old, new, 1))
        return root

    mistake.root = root  # type: ignore[attr-defined]
    return mistake


def messages(root: Path) -> list[str]:
    return [problem.line() for problem in validate_package(root, CRDS).problems]


def test_the_good_package_has_no_problems():
    report = validate_package(GOOD, CRDS)

    assert report.problems == []
    assert (report.documents, report.crds) == (9, 3)


@pytest.mark.skipif(not default_crds().is_dir(), reason=f"the upstream CRDs are not at {default_crds()} (CI has them)")
def test_the_platform_package_passes_against_the_upstream_crds():
    report = validate_package(default_package(), default_crds())

    assert [problem.line() for problem in report.problems] == []
    assert report.documents >= 30


MISTAKES = [
    pytest.param(
        "xrds/widgets.yaml",
        "apiVersion: apiextensions.crossplane.io/v2",
        "apiVersion: apiextensions.crossplane.io/v1",
        "xrds/widgets.yaml:1: CompositeResourceDefinition/widgets.example.devplat.io: wrong API version "
        "apiextensions.crossplane.io/v1: write XRDs as apiextensions.crossplane.io/v2",
        id="xrd-v1",
    ),
    pytest.param(
        "xrds/widgets.yaml",
        "  scope: Namespaced\n",
        "  scope: Namespaced\n  claimNames: {kind: WidgetClaim, plural: widgetclaims}\n",
        "spec.claimNames: claims are not supported by v2 XRDs with scope Namespaced; use the XR directly",
        id="xrd-claims",
    ),
    pytest.param(
        "xrds/widgets.yaml",
        "  name: widgets.example.devplat.io",
        "  name: gadgets.example.devplat.io",
        'metadata.name: Invalid value: "gadgets.example.devplat.io": must be spec.names.plural+"."+spec.group',
        id="xrd-name",
    ),
    pytest.param(
        "xrds/widgets.yaml",
        "rule: \"!self.endsWith(':latest')\"",
        "rule: \"!self.endsWithh(':latest')\"",
        "x-kubernetes-validations[0].rule: Invalid value:",
        id="xrd-cel-rule-does-not-compile",
    ),
    pytest.param(
        "xrds/widgets.yaml",
        "    name: widget\n",
        "    name: widget-aws\n",
        "spec.defaultCompositionRef: no Composition named widget-aws composes Widget (compositions for it: widget)",
        id="xrd-default-composition-missing",
    ),
    pytest.param(
        "compositions/widget.yaml",
        "    kind: Widget\n",
        "    kind: Gadget\n",
        "compositions/widget.yaml:1: Composition/widget: spec.compositeTypeRef: composition for a missing XRD: no "
        "XRD in the package defines kind Gadget in group example.devplat.io",
        id="composition-for-a-missing-xrd",
    ),
    pytest.param(
        "compositions/widget.yaml",
        "apiVersion: example.devplat.io/v1alpha1",
        "apiVersion: example.devplat.io/v1beta1",
        "spec.compositeTypeRef.apiVersion: version v1beta1 of XRD widgets.example.devplat.io is not served; "
        "target a served version (v1alpha1)",
        id="composition-for-an-unserved-version",
    ),
    pytest.param(
        "compositions/widget.yaml",
        "name: function-go-templating",
        "name: function-go-templatin",
        "step templates: unknown function function-go-templatin: no Function named function-go-templatin in the "
        "package; add one to functions/",
        id="unknown-function",
    ),
    pytest.param(
        "functions/auto-ready.yaml",
        "",
        "apiVersion: pkg.crossplane.io/v1\nkind: Function\nmetadata:\n  name: function-auto-ready\nspec:\n"
        "  package: xpkg.crossplane.io/crossplane-contrib/function-auto-ready:v0.6.0\n",
        "functions/auto-ready.yaml:1: Function/function-auto-ready: function "
        "xpkg.crossplane.io/crossplane-contrib/function-auto-ready is not in the Configuration's dependsOn",
        id="function-not-in-dependson",
    ),
    pytest.param(
        "functions/functions.yaml",
        "function-go-templating:v0.12.2",
        "function-go-templating:v0.12.3",
        "function-go-templating: pinned at v0.12.3, but the Configuration's dependsOn asks for 'v0.12.2'",
        id="function-version-disagrees-with-dependson",
    ),
    pytest.param(
        "functions/functions.yaml",
        "xpkg.crossplane.io/crossplane-contrib/function-go-templating:v0.12.2",
        "crossplane-contrib/function-go-templating",
        "spec.package: package crossplane-contrib/function-go-templating is not fully qualified",
        id="function-package-not-fully-qualified",
    ),
    pytest.param(
        "providers/providers.yaml",
        "provider-aws-s3:v2.4.0",
        "provider-aws-rds:v2.4.0",
        "step bucket: resource bucket: base: s3.aws.m.upbound.io/v1beta1 Bucket is served by provider-aws-s3, which "
        "the package does not install",
        id="composed-resource-without-its-provider",
    ),
    pytest.param(
        "compositions/widget.yaml",
        "apiVersion: s3.aws.m.upbound.io/v1beta1",
        "apiVersion: s3.aws.upbound.io/v1beta1",
        "is a cluster-scoped managed resource; a Namespaced composite composes only namespaced ones: use "
        "s3.aws.m.upbound.io",
        id="cluster-scoped-managed-resource",
    ),
    pytest.param(
        "examples/widget.yaml",
        "  image: ghcr.io/acme/widget:1.0.0",
        "  image: ghcr.io/acme/widget:1.0.0\n  size: huge\n  replicas: 0",
        'spec.size: Unsupported value: "huge": supported values: "small", "large"',
        id="example-breaks-the-schema",
    ),
    pytest.param(
        "examples/widget.yaml",
        "  image: ghcr.io/acme/widget:1.0.0",
        "  image: ghcr.io/acme/widget:latest",
        'examples/widget.yaml:1: Widget/demo: spec.image: Invalid value: "string": image must not use the mutable '
        ":latest tag",
        id="example-breaks-a-cel-rule",
    ),
    pytest.param(
        "examples/widget.yaml",
        "  image: ghcr.io/acme/widget:1.0.0",
        "  image: ghcr.io/acme/widget:1.0.0\n  colour: blue",
        "spec.colour: unknown field; widgets.example.devplat.io/v1alpha1 does not define it",
        id="example-with-an-unknown-field",
    ),
    pytest.param(
        "compositions/widget.yaml",
        "                    - name: widget\n",
        "                    - command: [widget]\n",
        "step templates: Deployment/deployment: spec.template.spec.containers[0]: 'name' is a required property "
        "(rendering example team-checkout/demo)",
        id="template-renders-an-invalid-kubernetes-object",
    ),
    pytest.param(
        "compositions/widget.yaml",
        "                gotemplating.fn.crossplane.io/composition-resource-name: deployment\n",
        "                app: widget\n",
        "Deployment/demo: has no gotemplating.fn.crossplane.io/composition-resource-name annotation",
        id="template-without-the-resource-name-annotation",
    ),
    pytest.param(
        "compositions/widget.yaml",
        "{{ $xr.spec.image | quote }}",
        '{{ template "image" }}',
        "step templates: cannot render the template: template line 22: {{ template }} is outside the Go template "
        "subset",
        id="template-outside-the-rendered-subset",
    ),
    pytest.param(
        "compositions/widget.yaml",
        "                size: small\n",
        "                size: 3\n",
        "step bucket: resource settings: base: data.size: 3 is not of type 'string'",
        id="patch-and-transform-base-is-an-invalid-kubernetes-object",
    ),
    pytest.param(
        "compositions/widget.yaml",
        "fromFieldPath: spec.size",
        "fromFieldPath: spec.sise",
        "step bucket: resource settings: patches[0]: fromFieldPath spec.sise: the Widget schema has no field sise "
        "under spec (it has: crossplane, image, replicas, size); fix the path",
        id="patch-from-a-field-the-composite-does-not-have",
    ),
    pytest.param(
        "examples/widget.yaml",
        "    devplat.io/environment: dev",
        "    devplat.io/environment: prod",
        "the environment step fails for example team-checkout/demo",
        id="no-environment-config-for-the-example",
    ),
    pytest.param(
        "functions/functions.yaml",
        "  package: xpkg.crossplane.io/crossplane-contrib/function-patch-and-transform:v0.10.8",
        "  packages: xpkg.crossplane.io/crossplane-contrib/function-patch-and-transform:v0.10.8",
        "functions/functions.yaml:3: Function/function-patch-and-transform: spec.package: Required value",
        id="document-breaks-an-upstream-crd-schema",
    ),
    pytest.param(
        "compositions/widget.yaml",
        "  mode: Pipeline",
        "  mode: Resources",
        'spec.mode: Unsupported value: "Resources": supported values: "Pipeline"',
        id="composition-breaks-an-upstream-crd-schema",
    ),
    pytest.param(
        "examples/widget.yaml",
        "  name: demo\n",
        "  name: demo\n  name: again\n",
        "examples/widget.yaml:0: -/-: not valid YAML: line 5, column 3: duplicate key 'name'",
        id="duplicate-yaml-key",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), MISTAKES)
def test_each_mistake_is_reported_with_what_to_fix(package, file, old, new, expected):
    root = package(file, old, new)

    found = messages(root)

    assert any(expected in line for line in found), "\n".join(found)


def test_problems_name_the_file_and_document_relative_to_the_working_directory(package, monkeypatch):
    root = package("examples/widget.yaml", "widget:1.0.0", "widget:latest")
    monkeypatch.chdir(root.parent)

    problems = validate_package(Path("widgets"), CRDS).problems

    (problem,) = [p for p in problems if p.kind == "Widget"]
    assert (problem.path, problem.document, problem.kind, problem.name) == (
        "widgets/examples/widget.yaml",
        1,
        "Widget",
        "demo",
    )


def test_an_unusable_crds_directory_is_refused(tmp_path):
    (tmp_path / "notes.yaml").write_text("just: text\n")

    with pytest.raises(CrdDirectoryError, match="no CustomResourceDefinitions found"):
        validate_package(GOOD, tmp_path)
