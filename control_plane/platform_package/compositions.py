"""A Composition's references and everything it renders directly.

- `compositeTypeRef` must name an XRD of the package and a version of it that is served and referenceable;
- `mode` must be Pipeline (Crossplane v2 removed the Resources mode), and every step's `functionRef.name` a Function
  the package installs (the Configuration's dependsOn is checked with the Function itself);
- step inputs are checked against their function's input CRD when `--crds` has it;
- function-patch-and-transform: every `base` is checked as an object to apply, and `PatchSet` patches must name a
  patch set of the input;
- function-go-templating: the inline template is rendered (`gotemplate`) for every example composite of the XRD,
  with the environment the pipeline's environment step would select, and every document it renders is checked;
- every composed resource must be namespaced when the composite is, and be served by a provider the package installs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from control_plane.kubeapi.xrds import scope_of
from control_plane.platform_package.crds import CrdRegistry
from control_plane.platform_package.dependencies import Dependencies
from control_plane.platform_package.documents import Document, YamlProblem, group_of, parse_documents, version_of
from control_plane.platform_package.environment import (
    ENVIRONMENT_CONTEXT_KEY,
    EnvironmentUnresolved,
    environment_for,
    missing_field,
)
from control_plane.platform_package.gotemplate import TemplateError, render
from control_plane.platform_package.providers import (
    CLUSTER_SCOPED_KINDS,
    CROSSPLANE_CORE_GROUPS,
    is_kubernetes_group,
    provider_for,
)
from control_plane.platform_package.rendered import object_problems

PT_GROUP = "pt.fn.crossplane.io"
GO_TEMPLATING_GROUP = "gotemplating.fn.crossplane.io"
ENVIRONMENT_GROUP = "environmentconfigs.fn.crossplane.io"
RESOURCE_NAME_ANNOTATION = "gotemplating.fn.crossplane.io/composition-resource-name"
_GO_TEMPLATING_META_GROUP = "meta.gotemplating.fn.crossplane.io"  # Context and ExtraResources documents


@dataclass
class Package:
    """What composition checks look up across the package."""

    registry: CrdRegistry
    dependencies: Dependencies
    xrds: dict[tuple[str, str], Document] = field(default_factory=dict)  # (group, kind) of the composite
    examples: dict[tuple[str, str], list[tuple[Document, dict[str, Any]]]] = field(default_factory=dict)
    environment_configs: list[Document] = field(default_factory=list)


def is_composition(document: Document) -> bool:
    return document.group == "apiextensions.crossplane.io" and document.kind == "Composition"


def composition_problems(document: Document, package: Package) -> list[str]:
    spec = document.obj.get("spec") or {}
    problems = []
    if spec.get("mode", "Pipeline") != "Pipeline":
        problems.append(
            f"spec.mode: {spec.get('mode')} is not supported by Crossplane v2; use mode: Pipeline with "
            "function-patch-and-transform for patch-and-transform resources"
        )
    xrd, target_problems = _target(spec.get("compositeTypeRef") or {}, package)
    problems += target_problems
    pipeline = [step for step in spec.get("pipeline") or [] if isinstance(step, dict)]
    for position, step in enumerate(pipeline):
        problems += _step_problems(step, pipeline[:position], xrd, package)
    return problems


def _target(reference: dict[str, Any], package: Package) -> tuple[Document | None, list[str]]:
    """The XRD `compositeTypeRef` names, with what is wrong with the reference."""
    api_version, kind = str(reference.get("apiVersion") or ""), str(reference.get("kind") or "")
    group, version = group_of(api_version), version_of(api_version)
    xrd = package.xrds.get((group, kind))
    if xrd is None:
        return None, [
            f"spec.compositeTypeRef: composition for a missing XRD: no XRD in the package defines kind {kind} in "
            f"group {group}; add the XRD to xrds/ or fix compositeTypeRef ({api_version} {kind})"
        ]
    versions = [v for v in (xrd.obj.get("spec") or {}).get("versions") or [] if isinstance(v, dict)]
    entry = next((v for v in versions if v.get("name") == version), None)
    served = [str(v.get("name")) for v in versions if v.get("served")]
    referenceable = [str(v.get("name")) for v in versions if v.get("referenceable")]
    if entry is None:
        problem = f"XRD {xrd.name} has no version {version} (its versions: {', '.join(served) or 'none'})"
    elif not entry.get("served"):
        problem = f"version {version} of XRD {xrd.name} is not served; target a served version ({', '.join(served)})"
    elif not entry.get("referenceable"):
        problem = (
            f"version {version} of XRD {xrd.name} is not referenceable; compositions target the referenceable "
            f"version ({', '.join(referenceable) or 'none'})"
        )
    else:
        return xrd, []
    return xrd, [f"spec.compositeTypeRef.apiVersion: {problem}"]


def _step_problems(
    step: dict[str, Any], earlier: list[dict[str, Any]], xrd: Document | None, package: Package
) -> list[str]:
    prefix = f"step {step.get('step')}: "
    function = str((step.get("functionRef") or {}).get("name") or "")
    problems = []
    if package.dependencies.function(function) is None:
        problems.append(
            f"{prefix}unknown function {function}: no Function named {function} in the package; add one to "
            "functions/ with a pinned package, and list that package in the Configuration's dependsOn"
        )
    step_input = step.get("input")
    if not isinstance(step_input, dict):
        return problems
    checked = package.registry.check(step_input, where="input.")
    if checked is not None and checked.problems:
        return problems + [prefix + message for message in checked.problems]
    group = group_of(str(step_input.get("apiVersion") or ""))
    if group == PT_GROUP:
        problems += [prefix + message for message in _patch_and_transform(step_input, xrd, package)]
    elif group == GO_TEMPLATING_GROUP and xrd is not None:
        environment_step = next(
            (
                s["input"]
                for s in earlier
                if group_of(str((s.get("input") or {}).get("apiVersion") or "")) == ENVIRONMENT_GROUP
            ),
            None,
        )
        problems += [prefix + message for message in _go_templating(step_input, environment_step, xrd, package)]
    return problems


def _patch_and_transform(step_input: dict[str, Any], xrd: Document | None, package: Package) -> list[str]:
    patch_sets = {str(s.get("name")): s for s in step_input.get("patchSets") or [] if isinstance(s, dict)}
    schema = _composite_schema(xrd, package)
    problems = []
    for patch_set in patch_sets.values():
        for index, patch in enumerate(patch_set.get("patches") or []):
            where = f"patchSets[{patch_set.get('name')}].patches[{index}]: "
            problems += [where + message for message in _composite_path_problems(patch, schema, xrd)]
    for resource in step_input.get("resources") or []:
        prefix = f"resource {resource.get('name')}: "
        for index, patch in enumerate(resource.get("patches") or []):
            if patch.get("type") == "PatchSet" and patch.get("patchSetName") not in patch_sets:
                problems.append(
                    f"{prefix}patches[{index}]: no patchSet named {patch.get('patchSetName')} in this input "
                    f"(it has: {', '.join(sorted(patch_sets)) or 'none'})"
                )
            where = f"{prefix}patches[{index}]: "
            problems += [where + message for message in _composite_path_problems(patch, schema, xrd)]
        if "base" in resource:
            problems += [f"{prefix}base: {message}" for message in composed_problems(resource["base"], xrd, package)]
    return problems


def _composite_schema(xrd: Document | None, package: Package) -> dict[str, Any] | None:
    if xrd is None:
        return None
    group, kind = composite_key(xrd)
    crd = package.registry.crds.get((group, kind))
    versions = [v for v in (xrd.obj.get("spec") or {}).get("versions") or [] if isinstance(v, dict)]
    referenceable = next((str(v.get("name")) for v in versions if v.get("referenceable")), "")
    return crd.schemas.get(referenceable) if crd else None


def _composite_path_problems(patch: dict[str, Any], schema: dict[str, Any] | None, xrd: Document | None) -> list[str]:
    """Patch paths on the composite must exist in its schema: a typo there makes the patch silently do nothing."""
    if schema is None or xrd is None:
        return []
    kind = patch.get("type") or "FromCompositeFieldPath"
    paths = []
    if kind == "FromCompositeFieldPath":
        paths.append(("fromFieldPath", patch.get("fromFieldPath")))
    elif kind in ("ToCompositeFieldPath", "CombineToComposite"):
        paths.append(("toFieldPath", patch.get("toFieldPath")))
    if kind == "CombineFromComposite":
        variables = (patch.get("combine") or {}).get("variables") or []
        paths += [(f"combine.variables[{i}].fromFieldPath", v.get("fromFieldPath")) for i, v in enumerate(variables)]
    composite = composite_key(xrd)[1]
    problems = []
    for field_name, path in paths:
        if isinstance(path, str) and (missing := missing_field(schema, path)):
            problems.append(f"{field_name} {path}: the {composite} schema has no {missing}; fix the path")
    return problems


def _go_templating(
    step_input: dict[str, Any], environment_step: dict[str, Any] | None, xrd: Document, package: Package
) -> list[str]:
    if step_input.get("source") != "Inline":
        return [
            f"input.source: {step_input.get('source')}: only Inline templates can be rendered and checked; "
            "keep the platform's templates inline"
        ]
    inline = step_input.get("inline") or {}
    templates = [inline["template"]] if "template" in inline else list(inline.get("templates") or [])
    delimiters = step_input.get("delims") or {}
    composite = composite_key(xrd)
    problems: dict[str, None] = {}  # ordered set: one message per problem, whichever example shows it first
    for example, admitted in package.examples.get(composite, []):
        context: dict[str, Any] = {}
        if environment_step is not None:
            try:
                context[ENVIRONMENT_CONTEXT_KEY] = environment_for(
                    environment_step, admitted, package.environment_configs
                )
            except EnvironmentUnresolved as error:
                problems[f"the environment step fails for example {example.label} ({example.path}): {error}"] = None
                continue
        data = {"observed": {"composite": {"resource": admitted}}, "context": context}
        for message in _rendered_problems(templates, data, delimiters, composite, admitted, xrd, package):
            problems.setdefault(f"{message} (rendering example {example.label})", None)
    return list(problems)


def _rendered_problems(
    templates: list[str],
    data: dict[str, Any],
    delimiters: dict[str, Any],
    composite: tuple[str, str],
    admitted: dict[str, Any],
    xrd: Document,
    package: Package,
) -> list[str]:
    try:
        text = "".join(
            render(t, data, left=delimiters.get("left") or "{{", right=delimiters.get("right") or "}}")
            for t in templates
        )
        documents = [value for _, value in parse_documents(text) if value is not None]
    except (TemplateError, YamlProblem) as error:
        return [f"cannot render the template: {error}"]
    problems = []
    for rendered in documents:
        if not isinstance(rendered, dict):
            problems.append("the template renders a document that is not a mapping")
            continue
        api_version, kind = str(rendered.get("apiVersion") or ""), str(rendered.get("kind") or "")
        if group_of(api_version) == _GO_TEMPLATING_META_GROUP:
            continue
        annotations = (rendered.get("metadata") or {}).get("annotations") or {}
        resource_name = annotations.get(RESOURCE_NAME_ANNOTATION)
        if (group_of(api_version), kind) == composite and resource_name is None:
            problems += [f"composite status: {m}" for m in _status_problems(rendered, admitted, package)]
            continue
        label = f"{kind or '-'}/{resource_name or (rendered.get('metadata') or {}).get('name') or '-'}"
        if resource_name is None:
            problems.append(
                f"{label}: has no {RESOURCE_NAME_ANNOTATION} annotation; function-go-templating fails without it "
                "(it names the resource across reconciles)"
            )
        problems += [f"{label}: {message}" for message in composed_problems(rendered, xrd, package)]
    return problems


def _status_problems(rendered: dict[str, Any], admitted: dict[str, Any], package: Package) -> list[str]:
    """A composite document a template renders may only set status; check it against the composite's schema."""
    extra = sorted(set(rendered) - {"apiVersion", "kind", "metadata", "status"})
    if extra:
        return [f"a function can set only the composite's status; remove {', '.join(extra)}"]
    checked = package.registry.check({**admitted, "status": rendered.get("status") or {}})
    return checked.problems if checked else []


def composed_problems(obj: Any, xrd: Document | None, package: Package) -> list[str]:
    """What is wrong with `obj` as a resource a composite of `xrd` composes."""
    problems = object_problems(obj, package.registry)
    if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
        return problems
    api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
    group = group_of(api_version)
    namespaced = xrd is not None and scope_of(xrd.obj) == "Namespaced"
    crd = package.registry.find(api_version, kind)
    if namespaced and (
        (crd is not None and crd.scope == "Cluster") or (is_kubernetes_group(group) and kind in CLUSTER_SCOPED_KINDS)
    ):
        problems.append(
            f"{kind} is cluster-scoped; a Namespaced composite composes only namespaced resources in its own "
            "namespace: wrap it in a provider-kubernetes Object (kubernetes.m.crossplane.io)"
        )
    if is_kubernetes_group(group) or group in CROSSPLANE_CORE_GROUPS or any(g == group for g, _ in package.xrds):
        return problems
    need = provider_for(group)
    if need is None:
        problems.append(
            f"no provider is known to serve {group}; devplat maps <service>.<cloud>.(m.)upbound.io and "
            "kubernetes/helm.(m.)crossplane.io to their providers, so compose one of those kinds"
        )
        return problems
    if namespaced and not need.namespaced:
        problems.append(
            f"{api_version} {kind} is a cluster-scoped managed resource; a Namespaced composite composes only "
            f"namespaced ones: use {need.namespaced_group}"
        )
    if not package.dependencies.providers_named(need.repository):
        problems.append(
            f"{api_version} {kind} is served by {need.repository}, which the package does not install; add a "
            f"Provider for it to providers/ and to the Configuration's dependsOn"
        )
    return problems


def composite_key(xrd: Document) -> tuple[str, str]:
    """(group, kind) of the composites an XRD defines."""
    spec = xrd.obj.get("spec") or {}
    return str(spec.get("group") or ""), str((spec.get("names") or {}).get("kind") or "")


def composition_target(composition: Document) -> tuple[str, str]:
    """(group, kind) of the composites a Composition composes."""
    reference = (composition.obj.get("spec") or {}).get("compositeTypeRef") or {}
    return group_of(str(reference.get("apiVersion") or "")), str(reference.get("kind") or "")
