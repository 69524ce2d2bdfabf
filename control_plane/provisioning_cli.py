"""The developer's commands, kubectl-style: `devplat capabilities list|show` and
`devplat create|get|describe|trace|patch|delete`.

Every write goes through `control_plane.provisioning.services`, the same path as the API's; reads go through the
permission-filtered querysets and selectors, so a developer sees only their teams' requests.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from django.db.models import QuerySet
from django.utils import timezone

from control_plane.choices import HealthChoices
from control_plane.inventory_cli import TREE_COLUMNS, age, tree_rows
from control_plane.models import ProvisioningRequest
from control_plane.provisioning import services
from control_plane.provisioning.catalog import Offer, offer_for
from control_plane.provisioning.status import RequestState, states_for
from control_plane.provisioning.values import apply_set, load_values
from control_plane.selectors import HIDDEN_FAILURE_MESSAGE, capabilities_for, resource_history, resource_tree_for
from devplat.core.cli.registry import CliError, Invocation, Noun, Output, arg, verb

GET_COLUMNS = ("name", "team", "namespace", "environment", "phase", "ready", "synced", "age", "message")
PARAMETER_COLUMNS = ("parameter", "type", "default", "allowed", "required", "description")
WAIT_POLL_SECONDS = 1.0
DURATION = re.compile(r"^(\d+)([smh]?)$")
CAPABILITY = arg("capability", help="Kind (Database), plural or XRD name.")
# How describe, trace, patch and delete name one request.
ONE_REQUEST = (
    CAPABILITY,
    arg("name"),
    arg("--team", metavar="TEAM", help="When the name is in several teams."),
    arg("-n", "--namespace", metavar="NS", help="When the name is in several namespaces."),
)
# What create and patch share: a dry run, or a wait for the outcome.
FOLLOW = (
    arg("--dry-run", action="store_true", help="Validate, check policies and dry-run on the cluster only."),
    arg("--wait", action="store_true", help="Follow it until it is Ready or fails."),
    arg("--timeout", default="5m", metavar="DURATION", help="How long --wait waits (default 5m)."),
)
# Phases after which --wait stops: Ready succeeds, the others fail.
FINAL_PHASES = {"Ready": 0, "Failed": 1, "Deleted": 1, "Gone": 1}


def _duration(text: str) -> float:
    found = DURATION.match(text.strip())
    if not found:
        raise CliError(f"--timeout {text!r}: use seconds or a unit, e.g. 90, 30s, 5m, 1h.")
    return int(found.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[found.group(2)]


def flatten_schema(node: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """One row per parameter, nested objects as dotted paths, like `kubectl explain --recursive`."""
    rows = []
    required = set(node.get("required") or ())
    for name, child in sorted((node.get("properties") or {}).items()):
        if name == "crossplane" and not prefix:
            continue  # Crossplane's machinery, not a parameter
        path = f"{prefix}{name}"
        allowed = child.get("enum") or []
        bounds = [f"{word} {child[key]}" for key, word in (("minimum", ">="), ("maximum", "<=")) if key in child]
        rows.append(
            {
                "parameter": path,
                "type": child.get("type", "any"),
                "default": child.get("default", ""),
                "allowed": ", ".join(str(v) for v in allowed) or ", ".join(bounds) or child.get("pattern", ""),
                "required": name in required,
                "description": (child.get("description") or "").split("\n")[0],
            }
        )
        if child.get("type") == "object":
            rows.extend(flatten_schema(child, f"{path}."))
    return rows


def _rules(node: dict[str, Any], path: str = "spec") -> list[dict[str, str]]:
    """The CEL rules of the schema, where they apply."""
    declared = node.get("x-kubernetes-validations") or ()
    found = [{"path": path, "rule": r.get("rule", ""), "message": r.get("message", "")} for r in declared]
    for name, child in (node.get("properties") or {}).items():
        found.extend(_rules(child, f"{path}.{name}"))
    return found


def _request_row(request: ProvisioningRequest, state: RequestState, now: Any) -> dict[str, Any]:
    resource = state.resource
    return {
        "id": request.pk,
        "kind": request.kind,
        "name": request.name,
        "team": request.team.name,
        "cluster": request.cluster.name,
        "namespace": request.namespace,
        "environment": request.environment,
        "phase": state.phase,
        "ready": resource.ready if resource else None,
        "synced": resource.synced if resource else None,
        "age": age(request.created_at, now),
        "message": state.message,
        "parameters": request.parameters,
        "dependsOn": sorted(d.reference for d in request.depends_on.all()),
        "waitingFor": request.waiting_for,
        "warnings": request.warnings,
    }


def _requests(inv: Invocation, offer_name: str) -> QuerySet[ProvisioningRequest]:
    found = (
        ProvisioningRequest.objects.restrict(inv.user, "view")
        .live()
        .filter(capability=offer_name)
        .select_related("team", "cluster")
        .prefetch_related("depends_on")
        .order_by("namespace", "name")
    )
    if getattr(inv.args, "team", None):
        found = found.filter(team__name=inv.args.team)
    if getattr(inv.args, "namespace", None):
        found = found.filter(namespace=inv.args.namespace)
    return found


def _one(inv: Invocation, action: str = "view") -> tuple[Offer, ProvisioningRequest]:
    """The live request `CAPABILITY NAME` names among the caller's teams' (narrowed by --team or -n)."""
    offer = offer_for(inv.user, inv.args.capability)
    matches = list(_requests(inv, offer.name).filter(name=inv.args.name))
    if not matches:
        listing = f"devplat get {offer.kind}"
        raise CliError(f"no {offer.kind} named {inv.args.name!r} among your teams' requests; list them: `{listing}`.")
    if len(matches) > 1:
        where = ", ".join(f"{m.team.name}/{m.namespace}" for m in matches)
        raise CliError(f"{offer.kind}/{inv.args.name} exists in several places ({where}); add --team or -n.")
    request = matches[0]
    if action != "view" and not ProvisioningRequest.objects.restrict(inv.user, action).filter(pk=request.pk).exists():
        who = f"only team {request.team.name}'s developers and admins may"
        raise CliError(f"you may see {request.reference} but not {action} it: {who}.")
    return offer, request


def _parameters(inv: Invocation, offer: Offer) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    if inv.args.values:
        source = inv.args.values
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"-f {source}: cannot read it ({exc.strerror or exc}).") from None
        parameters = load_values(text, source)
    for assignment in inv.args.set or ():
        apply_set(parameters, assignment, offer.schema)
    return parameters


def _wait(inv: Invocation, request: ProvisioningRequest, timeout: float) -> Output:
    """Follow the request until it is Ready, fails or the time is up, printing each change of phase."""
    deadline = time.monotonic() + timeout
    seen = None
    while True:
        request.refresh_from_db()
        state = states_for([request])[request.pk]
        line = f"{request.reference}: {state.phase}" + (f" ({state.message})" if state.message else "")
        if line != seen:
            inv.progress(line)
            seen = line
        if state.phase in FINAL_PHASES:
            code = FINAL_PHASES[state.phase]
            return Output(message=f"{request.reference} is {state.phase}.", exit_code=code)
        if time.monotonic() >= deadline:
            raise CliError(
                f"{request.reference} is still {state.phase} after {int(timeout)}s"
                + (f": {state.message}" if state.message else "")
                + f". Follow it with `devplat trace {request.kind} {request.name}`."
            )
        time.sleep(WAIT_POLL_SECONDS)


def _answer(inv: Invocation, outcome: services.Outcome, done: str) -> Output:
    """How create and patch end: the policies' warnings, then the dry run's object, a wait for the outcome, the
    request as data, or `done` in words."""
    for warning in outcome.warnings:
        inv.progress(f"warning: {warning}")
    request = outcome.request
    if request is None:
        return Output(data=outcome.object) if inv.output != "table" else Output(message=done)
    if inv.args.wait:
        return _wait(inv, request, _duration(inv.args.timeout))
    if inv.output != "table":
        return Output(data=_request_row(request, states_for([request])[request.pk], timezone.now()))
    return Output(message=done)


class CapabilitiesNoun(Noun):
    name = "capabilities"
    help = "What the platform offers (Crossplane XRDs found in the clusters) and the parameters each takes."

    @verb("list", "List the capabilities you can request.", formats=("table", "json", "yaml"))
    def list(self, inv: Invocation) -> Output:
        catalog = capabilities_for(inv.user)
        if inv.output != "table":
            return Output(data=catalog)
        rows = [
            {
                "kind": c["kind"],
                "name": c["name"],
                "version": c["version"],
                "scope": c["scope"],
                "ready": c["ready"],
                "clusters": ", ".join(c["clusters"]),
                "instances": sum(i["count"] for i in c["instances"]),
            }
            for c in catalog
        ]
        return Output(rows=rows, columns=("kind", "name", "version", "scope", "ready", "clusters", "instances"))

    @verb(
        "show",
        "Show a capability's parameters (type, default, allowed values) and validation rules.",
        arg("capability", help="Kind (Database), plural (databases) or XRD name (databases.platform.devplat.io)."),
        formats=("table", "json", "yaml"),
    )
    def show(self, inv: Invocation) -> Output:
        offer = offer_for(inv.user, inv.args.capability)
        spec = (offer.schema.get("properties") or {}).get("spec") or {}
        rows = flatten_schema(spec)
        rules = _rules(spec)
        if inv.output != "table":
            return Output(data={"name": offer.name, "kind": offer.kind, "parameters": rows, "rules": rules})
        lines = [f"{offer.kind} ({offer.name}, {offer.api_version}) on {', '.join(offer.clusters)}"]
        if rules:
            lines.append("Rules:")
            lines.extend(f"  {r['path']}: {r['message'] or r['rule']}" for r in rules)
        lines.append(f"Request one: devplat create {offer.kind} NAME --team TEAM --set key=value")
        return Output(rows=rows, columns=PARAMETER_COLUMNS, message="\n".join(lines))


class CreateNoun(Noun):
    name = "create"
    help = "Request a capability instance for a team (validated, policy-checked, applied as `devplat`)."
    direct = True

    @verb(
        "create",
        "Request a capability instance.",
        CAPABILITY,
        arg("name", help="The instance's name."),
        arg("--team", required=True, metavar="TEAM", help="The requesting team; you must be one of its developers."),
        arg("--set", action="append", metavar="KEY=VALUE", help="A parameter, e.g. --set storageGB=50 (repeatable)."),
        arg("-f", "--values", metavar="FILE", help="Parameters from a YAML file (- for stdin); --set wins."),
        arg("--environment", default="dev", metavar="ENV", help="dev, staging or prod (default dev)."),
        arg("-n", "--namespace", metavar="NS", help="One of the team's namespaces, when it has several."),
        arg("--cluster", metavar="NAME", help="When several clusters offer the capability."),
        arg("--depends-on", action="append", metavar="KIND/NAME", help="Wait for this request (repeatable)."),
        *FOLLOW,
        formats=("table", "json", "yaml"),
    )
    def create(self, inv: Invocation) -> Output:
        offer = offer_for(inv.user, inv.args.capability)
        outcome = services.capability_request(
            user=inv.user,
            capability=offer.name,
            name=inv.args.name,
            team=inv.args.team,
            parameters=_parameters(inv, offer),
            environment=inv.args.environment,
            namespace=inv.args.namespace,
            cluster=inv.args.cluster,
            depends_on=inv.args.depends_on or (),
            dry_run=inv.args.dry_run,
        )
        if outcome.request is None:
            waiting = f"; it would wait for: {'; '.join(outcome.waiting_for)}" if outcome.waiting_for else ""
            return _answer(inv, outcome, f"{offer.kind}/{inv.args.name} is valid (dry run, nothing created){waiting}.")
        request = outcome.request
        if outcome.waiting_for:
            return _answer(inv, outcome, f"{request.reference} created; waiting for: {'; '.join(outcome.waiting_for)}.")
        return _answer(inv, outcome, f"{request.reference} created in {request.namespace} on {request.cluster.name}.")


class PatchNoun(Noun):
    name = "patch"
    help = "Change an instance's parameters (merged into what was requested), environment or dependencies."
    direct = True

    @verb(
        "patch",
        "Change an instance: validated, policy-checked and applied again like a new request.",
        *ONE_REQUEST,
        arg("--set", action="append", metavar="KEY=VALUE", help="Change a parameter (repeatable)."),
        arg("--unset", action="append", metavar="KEY", help="Drop a parameter, back to its default (repeatable)."),
        arg("-f", "--values", metavar="FILE", help="Parameters to merge from a YAML file (- for stdin)."),
        arg("--environment", metavar="ENV", help="Move it to dev, staging or prod."),
        arg("--depends-on", action="append", metavar="KIND/NAME", help="Replace its dependencies (repeatable)."),
        *FOLLOW,
        formats=("table", "json", "yaml"),
    )
    def patch(self, inv: Invocation) -> Output:
        offer, request = _one(inv, "change")
        changes: dict[str, Any] = _parameters(inv, offer)
        for key in inv.args.unset or ():
            _unset(changes, key)
        outcome = services.provisioning_request_update(
            user=inv.user,
            request=request,
            parameters=changes,
            environment=inv.args.environment,
            depends_on=inv.args.depends_on,
            dry_run=inv.args.dry_run,
        )
        if outcome.request is None:
            return _answer(inv, outcome, f"{request.reference} would change as asked (dry run, nothing changed).")
        return _answer(inv, outcome, f"{request.reference} changed and applied again.")


def _unset(changes: dict[str, Any], key: str) -> None:
    """`--unset backups.retentionDays`: a null in the merge patch, which removes the parameter."""
    *parents, last = [part for part in key.split(".") if part] or [""]
    if not last:
        raise CliError(f"--unset {key!r}: name a parameter, e.g. --unset storageGB.")
    target = changes
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise CliError(f"--unset {key!r}: {part!r} is set to a value in this command, not an object.")
    target[last] = None


class GetNoun(Noun):
    name = "get"
    help = "List your teams' instances of a capability, or one of them, with their phase."
    direct = True

    @verb(
        "get",
        "List instances of a capability.",
        CAPABILITY,
        arg("name", nargs="?", help="Only this instance."),
        arg("--team", metavar="TEAM", help="Only this team's."),
        arg("-n", "--namespace", metavar="NS", help="Only this namespace."),
        formats=("table", "wide", "json", "yaml"),
    )
    def get(self, inv: Invocation) -> Output:
        offer = offer_for(inv.user, inv.args.capability)
        requests = _requests(inv, offer.name)
        if inv.args.name:
            requests = requests.filter(name=inv.args.name)
        found = list(requests)
        if inv.args.name and not found:
            raise CliError(f"no {offer.kind} named {inv.args.name!r} among your teams' requests.")
        states, now = states_for(found), timezone.now()
        rows = [_request_row(r, states[r.pk], now) for r in found]
        if inv.output in ("json", "yaml"):
            return Output(data=rows)
        columns = (*GET_COLUMNS, "cluster", "id") if inv.output == "wide" else GET_COLUMNS
        return Output(rows=rows, columns=columns)


def _tree(inv: Invocation, request: ProvisioningRequest, state: RequestState) -> tuple[list[dict[str, Any]], str]:
    """The tree's rows and a line under it: the deepest failure (or what is still progressing), or why there is
    no tree yet."""
    if state.resource is None:
        return [], f"{request.reference} has no synced composite yet ({state.phase}: {state.message})."
    view = resource_tree_for(inv.user, state.resource)
    failing_id = view.failing.resource.pk if view.failing is not None else None
    message = HIDDEN_FAILURE_MESSAGE if view.failure_hidden else state.resource.failing_message
    if message:
        label = "Deepest failure" if view.tree_health == HealthChoices.DEGRADED else "Still progressing"
        message = f"{label}: {message}"
    return tree_rows(view.root, failing_id), message


class DescribeNoun(Noun):
    name = "describe"
    help = "Show one instance in full: parameters, status, conditions, recent changes and its tree."
    direct = True

    @verb(
        "describe",
        "Describe an instance.",
        *ONE_REQUEST,
        formats=("table", "json", "yaml"),
    )
    def describe(self, inv: Invocation) -> Output:
        _, request = _one(inv)
        state = states_for([request])[request.pk]
        resource = state.resource
        changes = resource_history(inv.user, resource, limit=10) if resource else []
        tree, failing = _tree(inv, request, state)
        data = {
            **_request_row(request, state, timezone.now()),
            "rendered": request.rendered,
            "conditions": resource.conditions if resource else [],
            "events": [
                {
                    "time": c.time,
                    "type": c.change_type,
                    "paths": c.changed_paths,
                    "conditions": c.condition_transitions,
                }
                for c in changes
            ],
            "tree": tree,
            "deepestFailure": failing,
        }
        if inv.output != "table":
            return Output(data=data)
        return Output(message=_describe_text(data))


def _describe_text(data: dict[str, Any]) -> str:
    lines = [
        f"Name:         {data['kind']}/{data['name']}",
        f"Team:         {data['team']}   Namespace: {data['namespace']}   Cluster: {data['cluster']}",
        f"Environment:  {data['environment']}",
        f"Phase:        {data['phase']}" + (f" ({data['message']})" if data["message"] else ""),
        f"Depends on:   {', '.join(data['dependsOn']) or '-'}",
        "Parameters:",
        *("  " + line for line in yaml.safe_dump(data["rendered"].get("spec") or {}, sort_keys=True).splitlines()),
        "Conditions:",
        *(
            f"  {c.get('type')}={c.get('status')} {c.get('reason', '')}: {c.get('message', '')}".rstrip(": ")
            for c in data["conditions"]
        ),
        "Events (newest first):",
        *(f"  {e['time']:%Y-%m-%d %H:%M:%S} {e['type']} {', '.join(e['paths'] or [])}" for e in data["events"]),
        "Tree:",
        *(f"  {row['name']}  {row['health']}  {row['message']}".rstrip() for row in data["tree"]),
    ]
    if data["deepestFailure"]:
        lines.append(str(data["deepestFailure"]))
    return "\n".join(lines)


class TraceNoun(Noun):
    name = "trace"
    help = "Show an instance's tree (composite -> composed -> managed) with health and the deepest failure."
    direct = True

    @verb(
        "trace",
        "Trace an instance.",
        *ONE_REQUEST,
        formats=("table", "json", "yaml"),
    )
    def trace(self, inv: Invocation) -> Output:
        _, request = _one(inv)
        state = states_for([request])[request.pk]
        rows, failing = _tree(inv, request, state)
        if inv.output != "table":
            data = {"request": request.reference, "phase": state.phase, "tree": rows, "deepestFailure": failing}
            return Output(data=data)
        message = failing
        return Output(rows=rows, columns=TREE_COLUMNS, message=message)


class DeleteNoun(Noun):
    name = "delete"
    help = "Delete an instance: its composite goes from the cluster and Crossplane deletes what it composed."
    direct = True

    @verb(
        "delete",
        "Delete an instance.",
        *ONE_REQUEST,
    )
    def delete(self, inv: Invocation) -> Output:
        _, request = _one(inv, "delete")
        deleted = services.provisioning_request_delete(user=inv.user, request=request)
        return Output(message=f"{deleted.reference} deleted from {deleted.namespace} on {deleted.cluster.name}.")
