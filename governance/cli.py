"""`devplat audit tail|verify` and `devplat policies list|test`."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from devplat.core.cli.registry import CliError, Invocation, Noun, Output, arg, verb
from devplat.core.querysets import require_platform_admin
from governance.models import AuditEvent, Policy
from governance.policies import AdmissionContext, policy_evaluate
from governance.services import audit_verify

AUDIT_COLUMNS = ("seq", "time", "actor", "face", "action", "target", "request_id")


def event_row(event: AuditEvent) -> dict[str, Any]:
    actor = event.actor_username or "-"
    if event.actor_token:
        actor += f" (token {event.actor_token})"
    return {
        "seq": event.seq,
        "time": event.time,
        "actor": actor,
        "face": event.face,
        "action": event.action,
        "target": f"{event.target_type}:{event.target_repr}" if event.target_type else "",
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
    }


class AuditNoun(Noun):
    name = "audit"
    help = "The audit log: every change, who made it, through which face."

    @verb(
        "tail",
        "Show the newest audit events (platform admins).",
        arg("-n", "--lines", type=int, default=20, help="How many events (default 20)."),
        arg("--actor", default="", help="Only events by this username."),
        arg("--action", default="", help="Only actions starting with this, e.g. team. or token.create"),
    )
    def tail(self, inv: Invocation) -> Output:
        require_platform_admin(inv.user, "read the audit log")
        events = AuditEvent.objects.order_by("-seq")
        if inv.args.actor:
            events = events.filter(actor_username=inv.args.actor)
        if inv.args.action:
            events = events.filter(action__startswith=inv.args.action)
        rows = [event_row(e) for e in reversed(events[: max(inv.args.lines, 0)])]
        return Output(rows=rows, columns=AUDIT_COLUMNS)

    @verb("verify", "Check the audit log's hash chain; exit 1 naming the first altered or removed row.")
    def verify(self, inv: Invocation) -> Output:
        require_platform_admin(inv.user, "verify the audit log")
        total = AuditEvent.objects.count()
        broken = audit_verify()
        if broken is None:
            return Output(data={"ok": True, "events": total}, message=f"audit log intact: {total} events verified")
        return Output(
            data={"ok": False, "events": total, "first_bad_seq": broken.seq, "problem": broken.problem},
            message=f"audit log TAMPERED: {broken.problem}",
            exit_code=1,
        )


POLICY_COLUMNS = ("name", "mode", "targets", "enabled")
TARGET_FIELDS = ("capabilities", "kinds", "teams", "environments")
# Labels devplat puts on every composite it creates; `policies test` reads its defaults from them.
TEAM_LABEL, ENVIRONMENT_LABEL = "devplat.io/team", "devplat.io/environment"
OBJECT_MAX_CHARS = 1024 * 1024


def policy_detail(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "description": policy.description,
        "mode": policy.mode,
        "enabled": policy.enabled,
        "targets": {field: list(getattr(policy, field)) for field in TARGET_FIELDS},
        "expression": policy.expression,
        "message": policy.message,
        "updated_at": policy.updated_at,
    }


class PoliciesNoun(Noun):
    name = "policies"
    help = "Admission policies: the rules a capability request must satisfy."

    @verb("list", "List admission policies: mode, targets (empty means all) and whether they are enabled.")
    def list(self, inv: Invocation) -> Output:
        policies = Policy.objects.order_by("name")
        rows = [
            {"name": p.name, "mode": p.mode, "targets": p.targets_summary(), "enabled": p.enabled} for p in policies
        ]
        return Output(rows=rows, columns=POLICY_COLUMNS, data=[policy_detail(p) for p in policies])

    @verb(
        "test",
        "Evaluate one policy against an object (YAML or JSON); exit 0 when it passes, 1 on a violation.",
        arg("policy", metavar="NAME", help="The policy's name (see `devplat policies list`)."),
        arg("-f", "--filename", required=True, help="File with the object, YAML or JSON; - reads stdin."),
        arg("--team", default="", help=f"The requesting team (default: the object's {TEAM_LABEL} label)."),
        arg(
            "--environment",
            default="",
            help=f"The target environment, e.g. prod (default: the object's {ENVIRONMENT_LABEL} label).",
        ),
        arg("--actor", default="", help="Who requests it (default: the acting user)."),
        arg(
            "--capability",
            default="",
            help="The XRD name (default: the kind in lowercase plus s, in the object's API group, e.g. "
            "databases.platform.devplat.io).",
        ),
    )
    def test(self, inv: Invocation) -> Output:
        policy = Policy.objects.filter(name=inv.args.policy).first()
        if policy is None:
            raise CliError(f"no policy named {inv.args.policy!r}; see `devplat policies list` for the names.")
        obj = _read_object(inv.args.filename)
        metadata = _mapping(obj.get("metadata"))
        labels = _mapping(metadata.get("labels"))
        context = AdmissionContext(
            capability=inv.args.capability or _default_capability(obj),
            kind=obj["kind"],
            team=inv.args.team or str(labels.get(TEAM_LABEL, "")),
            environment=inv.args.environment or str(labels.get(ENVIRONMENT_LABEL, "")),
            actor=inv.args.actor or (inv.user.get_username() if inv.user else ""),
        )
        subject = f"{obj['kind']}/{metadata.get('name') or '(unnamed)'}"
        result = {"policy": policy.name, "mode": policy.mode, "object": subject, "context": asdict(context)}
        note = "" if policy.enabled else " (the policy is disabled: admission does not evaluate it)"
        mismatches = context.mismatches(policy)
        if mismatches:
            reasons = "; ".join(mismatches)
            return Output(
                data={**result, "applies": False, "passed": None, "message": reasons},
                message=f"SKIP: policy {policy.name} does not apply to {subject}: {reasons}{note}. "
                "Pass --team, --environment or --capability to test it as such a request.",
            )
        violation = policy_evaluate(policy=policy, obj=obj, context=context)
        if violation is None:
            return Output(
                data={**result, "applies": True, "passed": True, "message": ""},
                message=f"PASS: {subject} satisfies policy {policy.name}{note}",
            )
        return Output(
            data={**result, "applies": True, "passed": False, "message": violation.message},
            message=f"FAIL ({policy.mode}) {policy.name}: {violation.message}{note}",
            exit_code=1,
        )


def _read_object(path: str) -> dict[str, Any]:
    """The one object in a YAML or JSON file (JSON is YAML), or on stdin for `-`."""
    try:
        if path == "-":
            text = sys.stdin.read(OBJECT_MAX_CHARS + 1)
        else:
            with Path(path).open(encoding="utf-8") as handle:
                text = handle.read(OBJECT_MAX_CHARS + 1)
    except OSError as exc:
        raise CliError(
            f"-f {path}: cannot read it ({exc.strerror or exc}); name a YAML or JSON file, or - for stdin."
        ) from None
    except UnicodeDecodeError:
        raise CliError(f"-f {path}: not a UTF-8 text file; name a YAML or JSON file.") from None
    if len(text) > OBJECT_MAX_CHARS:
        raise CliError(f"-f {path}: larger than {OBJECT_MAX_CHARS // 1024} KiB; is it the right file?")
    try:
        obj = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = ", ".join(filter(None, (getattr(exc, "context", None), getattr(exc, "problem", None))))
        raise CliError(f"-f {path}: not valid YAML{where}: {problem or exc}; fix the file and try again.") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str) or not obj["kind"]:
        raise CliError(
            f"-f {path}: expected one object, a mapping with apiVersion, kind, metadata and spec "
            "(e.g. a file from crossplane/examples/)."
        )
    return obj


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _default_capability(obj: dict[str, Any]) -> str:
    """`databases.platform.devplat.io` for a Database in platform.devplat.io/v1alpha1: the platform's XRD naming."""
    api_version = obj.get("apiVersion")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    return f"{obj['kind'].lower()}s.{group}" if group else ""
