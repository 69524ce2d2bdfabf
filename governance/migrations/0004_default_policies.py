"""The admission policies every installation starts with. Admins may edit or disable them; running this again (or
on a database that already has them) changes nothing.

Resource limits are two policies: enforced in prod, where an unbounded app competes with everything else on the
nodes, and a warning in dev and staging, so developers hear about it early without being blocked while iterating.
"""

from django.db import migrations

_HAS_LIMITS = (
    "has(object.spec) && has(object.spec.resources) && has(object.spec.resources.limits)\n"
    "&& has(object.spec.resources.limits.cpu) && string(object.spec.resources.limits.cpu) != ''\n"
    "&& has(object.spec.resources.limits.memory) && string(object.spec.resources.limits.memory) != ''"
)

DEFAULT_POLICIES = [
    {
        "name": "production-databases-need-backups",
        "description": "A production database without backups cannot be restored after a mistake or an outage.",
        "expression": (
            "has(object.spec) && has(object.spec.backups) && has(object.spec.backups.enabled)\n"
            "&& object.spec.backups.enabled == true"
        ),
        "message": "Production databases must have backups enabled: set backups.enabled=true.",
        "mode": "enforce",
        "kinds": ["Database"],
        "environments": ["prod"],
    },
    {
        "name": "no-public-buckets",
        "description": "Public buckets leak data; serve public files through an App instead.",
        "expression": "!(has(object.spec) && has(object.spec.public)) || object.spec.public == false",
        "message": "Buckets must not be public: set public=false.",
        "mode": "enforce",
        "kinds": ["Bucket"],
        "environments": [],
    },
    {
        "name": "apps-declare-resource-limits",
        "description": "In production an app without CPU and memory limits can starve its neighbours.",
        "expression": _HAS_LIMITS,
        "message": (
            "Apps in production must declare resource limits: set resources.limits.cpu and "
            "resources.limits.memory (e.g. 500m and 512Mi)."
        ),
        "mode": "enforce",
        "kinds": ["App"],
        "environments": ["prod"],
    },
    {
        "name": "apps-should-declare-resource-limits",
        "description": "Outside production a missing limit is a warning, so it is fixed before it reaches prod.",
        "expression": _HAS_LIMITS,
        "message": (
            "Apps should declare resource limits (production requires them): set resources.limits.cpu and "
            "resources.limits.memory."
        ),
        "mode": "warn",
        "kinds": ["App"],
        "environments": ["dev", "staging"],
    },
]


def create(apps, schema_editor):
    policy_model = apps.get_model("governance", "Policy")
    for default in DEFAULT_POLICIES:
        fields = {key: value for key, value in default.items() if key != "name"}
        policy_model.objects.get_or_create(name=default["name"], defaults=fields)


def remove(apps, schema_editor):
    names = [default["name"] for default in DEFAULT_POLICIES]
    apps.get_model("governance", "Policy").objects.filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [("governance", "0003_policies")]
    operations = [migrations.RunPython(create, remove)]
