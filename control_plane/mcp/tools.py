"""The MCP tools: the questions an agent asks about the platform, answered by the selectors the REST API uses.

Every tool reads as the caller the view authenticated (see `control_plane.mcp.views`), so an agent sees exactly
what its token's owner sees: another team's object is "not found", as in the API. `answer` runs a tool's work
back on the Django request thread (where the request's database connection lives) and turns bad input and hidden
objects into tool errors the model can read; `control_plane.mcp.audit` records every call.

Answers are compact JSON sized for a model's context: empty values are left out, lists are capped (`truncated`
plus a cursor or a hint to narrow the question), long messages are clipped and large documents (spec, status,
parameter schemas) are summarised past a size, with a pointer to the REST API for the whole object.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from psycopg.errors import QueryCanceled
from pydantic import Field

from control_plane import selectors
from control_plane.choices import HealthChoices
from control_plane.models import Resource, ResourceChange
from control_plane.provisioning import services
from control_plane.provisioning.status import states_for
from control_plane.tree import HEAVY_FIELDS, TreeNode
from devplat.core.actor import Actor, acting
from devplat.core.errors import Conflict, Forbidden, NotFound, Unavailable

SCOPE_KEY = "devplat.caller"

SEARCH_LIMIT_MAX = 100
CHANGES_LIMIT_MAX = 200
CAPABILITIES_SHOWN = 50
CONDITIONS_SHOWN = 20
CHANGES_SHOWN = 10
TREE_NODES_SHOWN = 100
MESSAGE_CHARS = 400
DOCUMENT_CHARS = 4000
SCHEMA_CHARS = 16000
QUERY_CANCELLED = (
    "The database took too long to answer and cancelled the query. Narrow the question (more filters, a smaller "
    "limit) or try again shortly."
)


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the view authenticated them; reaches the tools through the ASGI scope of the request."""

    user: Any
    actor: Actor
    may_provision: bool = False  # the token's scope allows requesting capabilities


# --- running a tool --------------------------------------------------------------------------------------------------


def caller_of(request: Any) -> Caller:
    """The caller the view put in the request's ASGI scope."""
    caller = request.scope.get(SCOPE_KEY) if request is not None else None
    if not isinstance(caller, Caller):
        raise RuntimeError("MCP tools run only behind devplat's /mcp/ view, which authenticates the caller.")
    return caller


def _error_text(exc: NotFound | ValidationError | Conflict | Forbidden | Unavailable) -> str:
    if not isinstance(exc, ValidationError):
        return str(exc)
    if hasattr(exc, "error_dict"):
        return "Invalid arguments: " + "; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in exc.message_dict.items())
    return "Invalid arguments: " + " ".join(exc.messages)


def _run(caller: Caller, work: Callable[[Any], dict[str, Any]]) -> str:
    with acting(caller.actor):
        try:
            result = work(caller.user)
        except (NotFound, ValidationError, Conflict, Forbidden, Unavailable) as exc:
            raise ToolError(_error_text(exc)) from None
        except OperationalError as exc:
            if not isinstance(exc.__cause__, QueryCanceled):  # the statement timeout (R17), as the API's 503
                raise
            raise ToolError(QUERY_CANCELLED) from None
    return json.dumps(result, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)


async def answer(ctx: Context, work: Callable[[Any], dict[str, Any]]) -> str:
    """Run `work(user)` as the caller and return its answer as compact JSON; bad input and hidden objects become
    tool errors with the selectors' own messages, a query cancelled by the statement timeout one that says to
    narrow the question (anything else is a crash the SDK reports without details).

    `thread_sensitive` sends the work back to the thread that serves the HTTP request (the view waits there in
    `async_to_sync`), so the ORM runs where Django expects it: on the request's connection, which Django's request
    cycle closes or recycles, never on a stray event-loop thread.
    """
    caller = caller_of(ctx.request_context.request)
    return await sync_to_async(_run, thread_sensitive=True)(caller, work)


# --- shaping answers -------------------------------------------------------------------------------------------------


def _clip(text: str | None, limit: int = MESSAGE_CHARS) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compact(value: dict[str, Any]) -> dict[str, Any]:
    """The dict without None and empty values: an absent key costs the model nothing to read."""
    return {key: item for key, item in value.items() if item is not None and item != "" and item != [] and item != {}}


def _document(value: Any, *, what: str, resource_id: int | None = None, limit: int = DOCUMENT_CHARS) -> Any:
    """`value` itself when its JSON is short; past `limit` characters, a note of its size and top-level keys."""
    size = len(json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":")))
    if size <= limit:
        return value
    where = f"GET /api/v1/resources/{resource_id}/" if resource_id is not None else "the REST API"
    return _compact(
        {
            "truncated": True,
            "chars": size,
            "keys": sorted(value)[:40] if isinstance(value, dict) else None,
            "hint": f"{what} is too large to show here; {where} returns it whole.",
        }
    )


def _conditions(conditions: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        _compact(
            {
                "type": condition.get("type"),
                "status": condition.get("status"),
                "reason": condition.get("reason"),
                "message": _clip(condition.get("message")),
                "since": condition.get("lastTransitionTime"),
            }
        )
        for condition in (conditions or [])[:CONDITIONS_SHOWN]
    ]


def _summary(resource: Resource, failing: dict[int, Resource]) -> dict[str, Any]:
    """A resource in a list: where it is, whose it is, how it is doing, and (for a failing tree) what fails in it."""
    unhealthy = resource.health != HealthChoices.HEALTHY
    bottom = failing.get(resource.failing_id) if resource.failing_id else None
    return _compact(
        {
            **selectors.resource_ref(resource),
            "team": resource.team.name if resource.team else None,
            "health": resource.health,
            "ready": resource.ready,
            "reason": _clip(resource.health_reason) if unhealthy else None,
            "tree_health": resource.tree_health if resource.tree_health != resource.health else None,
            "failing": (
                {"id": bottom.pk, "kind": bottom.kind, "name": bottom.name, "message": _clip(resource.failing_message)}
                if bottom is not None and bottom.pk != resource.pk
                else None
            ),
            "deleted_at": resource.deleted_at,
        }
    )


def _change(entry: ResourceChange, *, with_resource: bool = True) -> dict[str, Any]:
    return _compact(
        {
            "id": entry.pk,
            "time": entry.time,
            "type": entry.change_type,
            "resource": (
                {
                    "id": entry.resource_id,
                    "cluster": entry.cluster.name,
                    "kind": entry.resource.kind,
                    "namespace": entry.resource.namespace,
                    "name": entry.resource.name,
                }
                if with_resource
                else None
            ),
            "team": entry.team.name if with_resource and entry.team is not None else None,
            "paths": entry.changed_paths,
            "conditions": [
                _compact({**transition, "message": _clip(transition.get("message"))})
                for transition in entry.condition_transitions[:CONDITIONS_SHOWN]
            ],
        }
    )


def _one(
    user: Any, *, id: int | None, kind: str | None, name: str | None, namespace: str | None, cluster: str | None
) -> Resource:
    """The resource a tool is asked about: by id, or by kind and name (narrowed by namespace and cluster)."""
    if id is not None:
        return selectors.resource_by_id(user, id)
    if not (kind and name):
        raise ValidationError({"id": "Say which resource: its id, or its kind and name (plus namespace/cluster)."})
    in_cluster = selectors.cluster_for(user, cluster) if cluster else None
    return selectors.resource_for(user, cluster=in_cluster, kind=kind, name=name, namespace=namespace)


# --- argument types shared by the tools ------------------------------------------------------------------------------

ResourceId = Annotated[
    int | None, Field(ge=1, description="The resource's id, as search_resources and every answer give it.")
]
KindArg = Annotated[
    str | None,
    Field(description="Kind as kubectl spells it: Deployment, deployments, deployments.apps, XDatabase.example.org."),
]
NameArg = Annotated[str | None, Field(description="Exact object name.")]
NamespaceArg = Annotated[str | None, Field(description="Namespace; cluster-scoped objects have none.")]
ClusterArg = Annotated[str | None, Field(description="Cluster name.")]
TeamArg = Annotated[str | None, Field(description="Team name (only teams you belong to, unless you are an admin).")]


def _about_one_resource(describe: Callable[[Any, Resource], dict[str, Any]]) -> Callable[..., Any]:
    """A tool answering `describe(user, resource)` about one resource the agent names by id, or by kind and name
    (narrowed by namespace and cluster). The tool takes `describe`'s name and docstring, which the SDK publishes
    as the tool's name and description, and its own signature, from which the SDK builds the input schema."""

    async def tool(
        ctx: Context,
        id: ResourceId = None,
        kind: KindArg = None,
        name: NameArg = None,
        namespace: NamespaceArg = None,
        cluster: ClusterArg = None,
    ) -> str:
        def work(user: Any) -> dict[str, Any]:
            resource = _one(user, id=id, kind=kind, name=name, namespace=namespace, cluster=cluster)
            return describe(user, resource)

        return await answer(ctx, work)

    tool.__name__ = tool.__qualname__ = describe.__name__
    tool.__doc__ = describe.__doc__
    return tool


# --- the tools -------------------------------------------------------------------------------------------------------


async def search_resources(
    ctx: Context,
    kind: KindArg = None,
    name: NameArg = None,
    namespace: NamespaceArg = None,
    cluster: ClusterArg = None,
    team: TeamArg = None,
    health: Annotated[
        str | None, Field(description="Only this health: " + ", ".join(HealthChoices.values) + ".")
    ] = None,
    ready: Annotated[bool | None, Field(description="Only ready (true) or not ready (false) resources.")] = None,
    label_selector: Annotated[
        str | None, Field(description="Kubernetes label selector: app=web,tier!=db,env in (prod,staging),!legacy")
    ] = None,
    q: Annotated[str | None, Field(description="Words that must all occur in the name (any case).")] = None,
    group: Annotated[str | None, Field(description="API group, e.g. apps; `core` for the core group.")] = None,
    changed_since: Annotated[
        str | None,
        Field(description="Only resources changed since: an ISO 8601 time or a duration back from now (15m, 2h, 7d)."),
    ] = None,
    include_deleted: Annotated[bool, Field(description="Include tombstones of deleted resources.")] = False,
    limit: Annotated[int, Field(ge=1, le=SEARCH_LIMIT_MAX, description="At most this many results.")] = 20,
    after: Annotated[
        int, Field(ge=0, description="Only ids above this: pass `next_after` of the previous answer for more.")
    ] = 0,
) -> str:
    """Find synced Kubernetes and Crossplane resources you may see, across clusters, by any mix of filters.

    Answers compact summaries in id order: id (use it with the other tools), cluster, api_version, kind, namespace,
    name, team, health, ready, and for unhealthy ones the reason; composites and claims add tree_health and the
    deepest failing resource. `truncated` means more matched: call again with after=next_after, or narrow the
    search. To find what is broken, try health=degraded (or progressing), optionally with team.
    """

    def work(user: Any) -> dict[str, Any]:
        found = selectors.resources_for(
            user,
            cluster=cluster,
            kind=kind,
            namespace=namespace,
            label_selector=label_selector,
            health=health,
            team=team,
            include_deleted=include_deleted,
            group=group,
            name=name,
            ready=ready,
            q=q,
            changed_since=changed_since,
        )
        rows = list(
            found.filter(pk__gt=after)
            .select_related("cluster", "team")
            .defer(*HEAVY_FIELDS, "conditions", "labels")
            .order_by("id")[: limit + 1]
        )
        truncated = len(rows) > limit
        rows = rows[:limit]
        failing = selectors.visible_failing(user, rows)
        reply: dict[str, Any] = {
            "results": [_summary(resource, failing) for resource in rows],
            "count": len(rows),
            "truncated": truncated,
        }
        if truncated:
            reply["next_after"] = rows[-1].pk
            reply["hint"] = "More match: call again with after=next_after, or narrow the filters."
        return reply

    return await answer(ctx, work)


@_about_one_resource
def get_resource(user: Any, resource: Resource) -> dict[str, Any]:
    """One resource in detail: identity, team, health and reason, conditions, labels, annotations, owner
    references, finalizers, timestamps, and its spec and status (summarised when large).

    Name it by id, or by kind and name (add namespace and cluster when the name is not unique).
    """
    failing = selectors.visible_failing(user, [resource])
    status = resource.status
    if isinstance(status, dict):
        status = {key: value for key, value in status.items() if key != "conditions"}  # shown below
    return _compact(
        {
            **_summary(resource, failing),
            "uid": resource.uid,
            "synced": resource.synced,
            "generation": resource.generation,
            "observed_generation": resource.observed_generation,
            "conditions": _conditions(resource.conditions),
            "labels": _document(resource.labels, what="labels", resource_id=resource.pk),
            "annotations": _document(resource.annotations, what="annotations", resource_id=resource.pk),
            "owners": [f"{ref.get('kind')}/{ref.get('name')}" for ref in resource.owner_references or []],
            "finalizers": resource.finalizers,
            "deleting_since": resource.deleting_since,
            "created_at": resource.created_at_k8s,
            "last_seen_at": resource.last_seen_at,
            "deleted_reason": resource.deleted_reason,
            "spec": _document(resource.spec, what="spec", resource_id=resource.pk),
            "status": _document(status, what="status", resource_id=resource.pk),
        }
    )


@_about_one_resource
def explain_health(user: Any, resource: Resource) -> dict[str, Any]:
    """Why a resource is not ready (or confirm that it is): its health and reason, its conditions, the deepest
    failing resource in its tree (usually the cause; the resources above it are symptoms) with that resource's
    conditions, message and recent changes, and the resource's own recent changes.

    Name it by id, or by kind and name (add namespace and cluster when the name is not unique).
    """
    found = selectors.explain_health(user, resource)
    bottom = found["failing"]
    subject = f"{resource.kind} {resource.name}"
    if bottom is not None:
        culprit = bottom["resource"]
        verdict = (
            f"{subject} is {found['tree_health']}: the deepest failure is {culprit['kind']} {culprit['name']} "
            f"({bottom['health']}): {_clip(bottom['message'])}"
        )
    elif found["health"] == HealthChoices.HEALTHY and found["tree_health"] == HealthChoices.HEALTHY:
        verdict = f"{subject} is healthy."
    else:
        verdict = f"{subject} is {found['tree_health']}: {_clip(found['health_reason']) or 'no reason recorded'}"
    return _compact(
        {
            "verdict": verdict,
            "resource": found["resource"],
            "health": found["health"],
            "health_reason": _clip(found["health_reason"]),
            "ready": found["ready"],
            "synced": found["synced"],
            "tree_health": found["tree_health"],
            "conditions": _conditions(found["conditions"]),
            "failing": (
                _compact(
                    {
                        "resource": bottom["resource"],
                        "health": bottom["health"],
                        "message": _clip(bottom["message"]),
                        "conditions": _conditions(bottom["conditions"]),
                        "recent_changes": [_change(e, with_resource=False) for e in bottom["recent_changes"]],
                    }
                )
                if bottom is not None
                else None
            ),
            "recent_changes": [_change(e, with_resource=False) for e in found["recent_changes"][:CHANGES_SHOWN]],
        }
    )


def _tree_nodes(root: TreeNode) -> tuple[dict[str, Any], int]:
    """The tree as nested dicts, breadth first up to TREE_NODES_SHOWN nodes (so the top levels are always
    there); returns it with the number of nodes shown."""
    shown: set[int] = set()
    queue = deque([root])
    while queue and len(shown) < TREE_NODES_SHOWN:
        node = queue.popleft()
        shown.add(id(node))
        queue.extend(node.children)

    def shape(node: TreeNode) -> dict[str, Any]:
        resource = node.resource
        return _compact(
            {
                "id": resource.pk,
                "kind": resource.kind,
                "namespace": resource.namespace,
                "name": resource.name,
                "relation": node.relation,
                "health": resource.health,
                "ready": resource.ready,
                "reason": _clip(resource.health_reason) if resource.health != HealthChoices.HEALTHY else None,
                "children": [shape(child) for child in node.children if id(child) in shown],
            }
        )

    return shape(root), len(shown)


@_about_one_resource
def resource_tree(user: Any, resource: Resource) -> dict[str, Any]:
    """What a claim, composite or owner is made of: the tree claim -> composite -> composed (managed) resources,
    or owner -> owned, each node with its health, and the deepest failing resource of the tree.

    Members you may not see are left out. Large trees show their top levels first; `truncated` says nodes were
    left out. Name the root by id, or by kind and name (add namespace and cluster when the name is not unique).
    """
    view = selectors.resource_tree_for(user, resource)
    tree, shown = _tree_nodes(view.root)
    failing = view.failing.resource if view.failing is not None else None
    return _compact(
        {
            "tree_health": view.tree_health,
            "failing": (
                _compact(
                    {
                        **selectors.resource_ref(failing, cluster_name=resource.cluster.name),
                        "health": failing.health,
                        "message": _clip(failing.health_reason),
                    }
                )
                if failing is not None
                else None
            ),
            "nodes": view.node_count,
            "truncated": shown < view.node_count,
            "tree": tree,
        }
    )


async def changes_since(
    ctx: Context,
    after: Annotated[
        int, Field(ge=0, description="Cursor: entries with ids above this. 0 starts at the oldest kept entry.")
    ] = 0,
    limit: Annotated[int, Field(ge=1, le=CHANGES_LIMIT_MAX, description="At most this many entries.")] = 50,
    wait: Annotated[
        float,
        Field(ge=0, description="When nothing is new, wait up to this many seconds for an entry (server caps it)."),
    ] = 0,
    cluster: ClusterArg = None,
    team: TeamArg = None,
    kind: KindArg = None,
) -> str:
    """Follow the change feed: what was added, modified or deleted after a cursor, oldest first, with the changed
    paths and condition transitions (e.g. Ready True -> False with the new reason).

    Pass `next_after` from each answer as `after` in the next call to see only what is new; use `wait` to
    long-poll instead of calling in a tight loop. `truncated` means more entries are waiting right now.
    """

    def work(user: Any) -> dict[str, Any]:
        entries, cursor = selectors.changes_after(
            user, after=after, limit=limit, wait=wait, cluster=cluster, team=team, kind=kind
        )
        truncated = len(entries) == limit
        reply: dict[str, Any] = {
            "changes": [_change(entry) for entry in entries],
            "count": len(entries),
            "next_after": cursor,
            "truncated": truncated,
        }
        if truncated:
            reply["hint"] = "More entries are waiting: call again with after=next_after."
        return reply

    return await answer(ctx, work)


async def list_capabilities(
    ctx: Context,
    name: Annotated[
        str | None,
        Field(description="An XRD name (xdatabases.platform.example.org) for that capability with its parameters."),
    ] = None,
) -> str:
    """What the platform offers to provision: the Crossplane XRDs found in the clusters, with group, kind, claim
    kind, scope, versions, where each is offered and how many instances your teams have.

    Without `name`, a list (without parameter schemas); with `name`, that one capability including the JSON
    schema of its parameters.
    """

    def shape(capability: dict[str, Any], *, with_schema: bool) -> dict[str, Any]:
        return _compact(
            {
                "name": capability["name"],
                "group": capability["group"],
                "kind": capability["kind"],
                "claim_kind": capability["claim_kind"],
                "scope": capability["scope"],
                "version": capability["version"],
                "versions": [v["name"] for v in capability["versions"] if v["served"]],
                "ready": capability["ready"],
                "clusters": capability["clusters"],
                "instances": capability["instances"],
                "schema": (
                    _document(capability["schema"], what="The parameter schema", limit=SCHEMA_CHARS)
                    if with_schema
                    else None
                ),
            }
        )

    def work(user: Any) -> dict[str, Any]:
        if name:
            return shape(selectors.capability_for(user, name), with_schema=True)
        found = selectors.capabilities_for(user)
        truncated = len(found) > CAPABILITIES_SHOWN
        return {
            "capabilities": [shape(c, with_schema=False) for c in found[:CAPABILITIES_SHOWN]],
            "count": len(found),
            "truncated": truncated,
            "hint": "Call with name=<capability name> for its parameter schema.",
        }

    return await answer(ctx, work)


async def request_capability(
    ctx: Context,
    capability: Annotated[
        str, Field(description="The capability: Database, databases or databases.platform.devplat.io.")
    ],
    name: Annotated[str, Field(description="The new instance's name (lowercase letters, digits and '-').")],
    team: Annotated[str, Field(description="The requesting team; the token's owner must be one of its developers.")],
    parameters: Annotated[
        dict[str, Any] | None,
        Field(description="The capability's parameters (list_capabilities with name= shows its schema)."),
    ] = None,
    environment: Annotated[
        str, Field(description="dev, staging or prod: the policies and compositions depend on it.")
    ] = "dev",
    depends_on: Annotated[
        list[str] | None,
        Field(description="Requests of the same team to wait for, as Kind/name (an App on its Database)."),
    ] = None,
    dry_run: Annotated[
        bool,
        Field(description="True (the default) checks everything and creates nothing; false really requests."),
    ] = True,
) -> str:
    """Request a capability instance (a Database, an App, ...) for a team, dry run first by default.

    The parameters are checked against the capability's schema (types, enums, defaults, CEL rules) and the
    admission policies, and the cluster answers a server-side dry run: the answer is the object as it would be
    stored, or the error naming the field, rule or policy. With dry_run=false the composite is applied into the
    team's namespace and the request answered with its id and phase; follow it with search_resources or
    changes_since. Needs a token with the provision scope.
    """
    caller = caller_of(ctx.request_context.request)
    if not caller.may_provision:
        raise ToolError("This token may only read. Requesting needs a token with the provision scope.")

    def work(user: Any) -> dict[str, Any]:
        outcome = services.capability_request(
            user=user,
            capability=capability,
            name=name,
            team=team,
            parameters=parameters or {},
            environment=environment,
            depends_on=depends_on or (),
            dry_run=dry_run,
        )
        if outcome.request is None:
            metadata = outcome.object.get("metadata") or {}
            return _compact(
                {
                    "dry_run": True,
                    "object": {
                        "apiVersion": outcome.object.get("apiVersion"),
                        "kind": outcome.object.get("kind"),
                        "namespace": metadata.get("namespace"),
                        "name": metadata.get("name"),
                        "spec": _document(outcome.object.get("spec"), what="The spec"),
                    },
                    "warnings": outcome.warnings,
                    "waiting_for": outcome.waiting_for,
                    "hint": "Nothing was created. Call again with dry_run=false to request it.",
                }
            )
        request = outcome.request
        state = states_for([request])[request.pk]
        path = f"/api/v1/capabilities/{request.capability}/requests/{request.pk}/"
        return _compact(
            {
                "request": {
                    "id": request.pk,
                    "kind": request.kind,
                    "name": request.name,
                    "namespace": request.namespace,
                    "cluster": request.cluster.name,
                    "status": request.status,
                    "phase": state.phase,
                    "message": _clip(state.message),
                    "waiting_for": request.waiting_for,
                },
                "warnings": outcome.warnings,
                "hint": f"Follow it with GET {path} or changes_since.",
            }
        )

    return await answer(ctx, work)


TOOLS: list[Callable[..., Any]] = [
    search_resources,
    get_resource,
    explain_health,
    resource_tree,
    changes_since,
    list_capabilities,
    request_capability,
]
# The tools that change the platform (the others only read).
WRITING_TOOLS = frozenset({request_capability})
