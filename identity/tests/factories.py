"""Factories for identity objects. They go through the services, so every object is valid and audited."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from identity import services
from identity.choices import MembershipRoleChoices, TokenScopeChoices
from identity.models import ApiToken, Membership, Team


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests")

    class Params:
        platform_admin = factory.Trait(is_staff=True, is_superuser=True)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"team-{n}")
    display_name = factory.LazyAttribute(lambda t: t.name.title())

    @classmethod
    def _create(cls, model_class: type[Team], *args: Any, **kwargs: Any) -> Team:
        return services.team_create(
            name=kwargs["name"], display_name=kwargs.get("display_name", ""), description=kwargs.get("description", "")
        )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = MembershipRoleChoices.DEVELOPER

    @classmethod
    def _create(cls, model_class: type[Membership], *args: Any, **kwargs: Any) -> Membership:
        return services.membership_set(team=kwargs["team"], user=kwargs["user"], role=kwargs["role"])


class ApiTokenFactory(factory.django.DjangoModelFactory):
    """Creates a token; the plaintext is on the returned object as `.plaintext` (as only the creator sees it)."""

    class Meta:
        model = ApiToken

    owner = factory.SubFactory(UserFactory)
    scope = TokenScopeChoices.READ
    description = "test token"
    expires_at = None

    @classmethod
    def _create(cls, model_class: type[ApiToken], *args: Any, **kwargs: Any) -> ApiToken:
        issued = services.token_create(
            owner=kwargs["owner"],
            scope=kwargs["scope"],
            description=kwargs["description"],
            expires_at=kwargs["expires_at"],
        )
        issued.token.plaintext = issued.plaintext  # type: ignore[attr-defined]
        return issued.token
