"""`devplat audit tail` and `devplat audit verify`."""

from __future__ import annotations

from typing import Any

from devplat.core.cli.registry import Invocation, Noun, Output, arg, verb
from devplat.core.querysets import require_platform_admin
from governance.models import AuditEvent
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
