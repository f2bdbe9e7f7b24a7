"""App config for memory: wires the beat schedules to agents and to `migrate`."""

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class MemoryConfig(AppConfig):
    name = "memory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agents.models import Agent
        from memory import signals

        post_save.connect(signals.agent_saved, sender=Agent, dispatch_uid="memory.schedule")
        post_delete.connect(signals.agent_deleted, sender=Agent, dispatch_uid="memory.unschedule")
        post_migrate.connect(signals.migrated, sender=self, dispatch_uid="memory.beat_schedules")
