"""Build the import plan from every concept's mapper, in dependency order (agents, then what
belongs to them), and apply it step by step. Planning only reads; a dry run stops there."""

import logging
from pathlib import Path

from django.db import connection

from agents.models import Agent
from gateway.operator.openclaw_import.agents_map import plan_agents
from gateway.operator.openclaw_import.bindings_map import plan_bindings
from gateway.operator.openclaw_import.channels_map import plan_channels
from gateway.operator.openclaw_import.cron_map import plan_cron
from gateway.operator.openclaw_import.plan import NotApplied, Plan, Step, unmapped
from gateway.operator.openclaw_import.secret_store import SecretStore
from gateway.operator.openclaw_import.source import Source, read_source
from gateway.operator.openclaw_import.transcripts_map import plan_transcripts
from gateway.operator.openclaw_import.workspace_map import plan_shared_skills, plan_workspace

logger = logging.getLogger(__name__)

# Top-level settings with no counterpart here, and why.
NOT_MAPPED = {
    "gateway": "the gateway's own port, bind and token come from OPENCLAW_* settings here",
    "hooks": "hook settings are not carried over (docs/migrating-from-openclaw.md)",
    "plugins": "OpenClaw plugins do not run here",
    "tools": "tool settings name OpenClaw's tools; set ours per agent in the admin",
    "session": "resets and scoping follow our rules; dmScope only decides who is an owner",
    "messages": "message prefixes and queue settings follow our defaults",
    "auth": "auth profiles stay with OpenClaw; provider keys come from the environment here",
}


class NotReady(Exception):
    """This gateway's database is not set up yet."""


def build_plan(home: Path) -> Plan:
    """Everything the import would do; raises `SourceError` for an unreadable directory and
    `NotReady` before `manage.py migrate`."""
    source = read_source(home)
    if Agent._meta.db_table not in connection.introspection.table_names():
        raise NotReady("This state directory has no database yet: run manage.py migrate first.")
    plan = Plan()
    agent_steps = plan_agents(source)
    plan.add(agent_steps)
    known = {
        entry.slug
        for entry, step in zip(source.agents, agent_steps, strict=True)
        if step.action != "unmapped"
    }
    plan.add(plan_workspace(source, entry, entry.slug in known) for entry in source.agents)
    plan.add(plan_shared_skills(source))
    store = SecretStore.open()
    plan.add(plan_channels(source, known, store))
    plan.add(plan_bindings(source, known))
    for entry in source.agents:
        plan.add(plan_transcripts(source, entry, entry.slug in known))
    plan.add(plan_cron(source, known))
    plan.add(_settings(source))
    return plan


def _settings(source: Source) -> list[Step]:
    return [
        unmapped("setting", key, why) for key, why in NOT_MAPPED.items() if source.config.get(key)
    ]


def apply(plan: Plan) -> int:
    """Apply every step; one that fails is reported and the others go on. Returns failures."""
    failures = 0
    for step in plan.steps:
        if step.apply is None:
            continue
        try:
            extra = step.apply()
        except NotApplied as exc:
            step.action, step.detail = "unmapped", str(exc)
            continue
        except Exception as exc:
            logger.exception("Import step %s %s failed", step.kind, step.name)
            step.action, step.detail = "unmapped", f"failed: {type(exc).__name__}: {exc}"
            failures += 1
            continue
        if extra:
            step.detail += f"; {extra}"
    return failures
