"""Signal receivers of the memory app: each calls one function of memory.beat_schedules."""

from typing import Any

from agents.models import Agent
from memory import beat_schedules


def agent_saved(sender: type[Agent], instance: Agent, created: bool, raw: bool, **_: Any) -> None:
    if created and not raw:
        beat_schedules.ensure_curation_schedule(instance)


def agent_deleted(sender: type[Agent], instance: Agent, **_: Any) -> None:
    beat_schedules.remove_curation_schedule(instance.slug)


def migrated(using: str = "default", **_: Any) -> None:
    beat_schedules.ensure_all_schedules(using)
