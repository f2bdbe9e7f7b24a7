"""App config: after `migrate`, make sure the default agent and its workspace exist."""

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_default_agent(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    from agents.services import ensure_default_agent

    ensure_default_agent(using=using)


class AgentsConfig(AppConfig):
    name = "agents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_ensure_default_agent, sender=self)
