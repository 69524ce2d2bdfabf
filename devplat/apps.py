from django.apps import AppConfig


class DevplatConfig(AppConfig):
    """The project package as an installed app: the shared kernel's tasks, the `devplat` command, its own nouns."""

    name = "devplat"
    verbose_name = "devplat"

    def ready(self) -> None:
        from devplat.core.cli import doctor, registry

        registry.register(doctor.DoctorNoun())
