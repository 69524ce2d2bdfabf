"""The base viewset: a queryset restricted per HTTP method, 404 for what the caller may not see.

GET views need `view`, POST `add`, PUT/PATCH `change`, DELETE `delete` (as NetBox's `HTTP_ACTIONS`). An object the
caller cannot see answers 404, so ids cannot be probed; one the caller can see but not change answers 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import QuerySet
from django.http import Http404
from rest_framework import exceptions, viewsets
from rest_framework.request import Request

from devplat.core.actor import Face, update_actor

HTTP_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


def note_caller(request: Request, face: str) -> None:
    """Authentication is done: the audit log from here on names the real caller, the token it used and the face
    (a `Face` value)."""
    update_actor(
        user_id=request.user.pk,
        username=request.user.get_username(),
        token_key_id=getattr(request.auth, "key_id", "") or "",
        face=face,
    )


if TYPE_CHECKING:
    _ViewSetBase = viewsets.GenericViewSet
else:
    _ViewSetBase = object


class RestrictedViewSetMixin(_ViewSetBase):
    """Mix into a DRF viewset whose model's queryset has `restrict(user, action)`."""

    write_scope: ClassVar[str] = "admin"
    # What to tell a caller who can see an object but not act on it, per action; the default fits most models.
    forbidden_hints: ClassVar[dict[str, str]] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        note_caller(request, Face.API)

    @property
    def restrict_action(self) -> str:
        return HTTP_ACTIONS.get(self.request.method or "GET", "view")

    def get_queryset(self) -> QuerySet[Any]:
        assert self.queryset is not None, f"{type(self).__name__} needs a queryset"  # noqa: S101 (a programming error)
        return self.queryset.all().restrict(self.request.user, self.restrict_action)  # type: ignore[attr-defined]

    def get_object(self) -> Any:
        try:
            return super().get_object()
        except Http404:
            if self.restrict_action != "view":
                visible = self.queryset.all().restrict(self.request.user, "view")  # type: ignore[union-attr]
                field = getattr(self, "lookup_field", "pk")
                lookup = self.kwargs.get(getattr(self, "lookup_url_kwarg", None) or field)  # as DRF's get_object
                if lookup is not None and visible.filter(**{field: lookup}).exists():
                    hint = self.forbidden_hints.get(self.restrict_action, "ask a platform admin")
                    raise exceptions.PermissionDenied(
                        f"You can see this object but may not {self.restrict_action} it: {hint}."
                    ) from None
            raise


class RestrictedModelViewSet(RestrictedViewSetMixin, viewsets.ModelViewSet):
    pass


class RestrictedReadOnlyViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass
