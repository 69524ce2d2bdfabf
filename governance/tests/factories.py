"""Factories for governance objects. They go through the services, so every object is valid and audited."""

from __future__ import annotations

from typing import Any

import factory

from governance import services
from governance.choices import PolicyModeChoices
from governance.models import Policy


class PolicyFactory(factory.django.DjangoModelFactory):
    """A policy that allows everything unless given an `expression`; targets default to all."""

    class Meta:
        model = Policy

    name = factory.Sequence(lambda n: f"policy-{n}")
    description = ""
    expression = "true"
    message = factory.LazyAttribute(lambda policy: f"{policy.name} is violated")
    mode = PolicyModeChoices.ENFORCE
    capabilities = factory.LazyFunction(list)
    kinds = factory.LazyFunction(list)
    teams = factory.LazyFunction(list)
    environments = factory.LazyFunction(list)
    enabled = True

    @classmethod
    def _create(cls, model_class: type[Policy], *args: Any, **kwargs: Any) -> Policy:
        return services.policy_create(**kwargs)
