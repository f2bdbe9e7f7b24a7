"""`manage.py onboard`: first-run set-up, interactive or scripted (`--no-input` plus flags).

Applies migrations, makes the state directory private (0700, its secrets 0600), creates or
updates the admin user and an agent with its workspace and model provider, says where the
gateway token is, then tests the model with one short call and says exactly what is wrong if it
fails (exit 1, unless `--warn-only`). Interactive answers are checked as they are given (the
password by Django's validators); a bad one is asked again. Safe to run again.
"""

import asyncio
import getpass
import os
import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from agents.models import Agent
from gateway.operator import onboarding
from gateway.operator.doctor import Finding
from gateway.operator.onboarding import PROVIDERS, ModelChoice, OnboardingError
from gateway.operator.permissions import tighten_permissions
from gateway.operator.probes import agent_model_settings, gateway_running, probe_model
from openclaw.progress import ProgressBar

DEFAULT_PASSWORD_ENV = "DJANGO_SUPERUSER_PASSWORD"  # noqa: S105  # a variable name, not a password


def _check_provider(name: str) -> str:
    if name and name not in PROVIDERS:
        raise OnboardingError(f"Unknown provider {name!r}: use one of {', '.join(PROVIDERS)}.")
    return name


class Command(BaseCommand):
    help = "Set up openclaw: admin user, agent and workspace, model provider, and a model check."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-input", action="store_true", help="Ask nothing; use the flags and defaults."
        )
        admin = parser.add_argument_group("admin user")
        admin.add_argument("--admin-username", default="", help="Create or update this admin.")
        admin.add_argument("--admin-email", default="")
        admin.add_argument(
            "--initial-admin",
            action="store_true",
            help="When there is no admin user yet, create `admin` with a generated password "
            "saved in OPENCLAW_HOME/admin.password (used by make run).",
        )
        admin.add_argument(
            "--admin-password-env",
            default=DEFAULT_PASSWORD_ENV,
            metavar="VAR",
            help=f"Variable holding the admin's password (default {DEFAULT_PASSWORD_ENV}).",
        )
        agent = parser.add_argument_group("agent")
        agent.add_argument(
            "--agent", default="", metavar="SLUG", help="Default: the default agent."
        )
        agent.add_argument("--agent-name", default="")
        model = parser.add_argument_group("model")
        model.add_argument(
            "--provider",
            choices=sorted(PROVIDERS),
            help="Set the agent's provider (otherwise its current settings are kept).",
        )
        model.add_argument("--base-url", default="", help="OpenAI-compatible API URL (…/v1).")
        model.add_argument("--model", default="", help="Model id, e.g. gpt-4o-mini or llama3.1.")
        model.add_argument(
            "--api-key-env",
            default=None,
            metavar="VAR",
            help="Variable holding the API key, ending in _API_KEY (empty: no key).",
        )
        check = parser.add_argument_group("model check")
        check.add_argument("--skip-model-check", action="store_true")
        check.add_argument(
            "--warn-only",
            action="store_true",
            help="A failed model check is a warning and the exit code stays 0 (used by make run).",
        )
        check.add_argument("--timeout", type=float, default=20.0, help="Model check seconds.")
        parser.add_argument(
            "--show-token", action="store_true", help="Print the gateway token itself."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self._migrate()
        interactive = not options["no_input"]
        try:
            for change in tighten_permissions():  # as doctor wants them
                self._row("Made private", change)
            if interactive:
                self._ask(options)
            admin = self._admin(options)
            choice = self._choice(options)
            slug = options["agent"] or settings.OPENCLAW_DEFAULT_AGENT
            agent = onboarding.ensure_agent(slug, options["agent_name"], choice)
        except OnboardingError as exc:
            raise CommandError(str(exc), returncode=2) from None
        self._summary(admin, agent, options)
        if options["skip_model_check"]:
            self.stdout.write("Model check skipped (--skip-model-check).")
            return
        self._check(agent, options)

    def _migrate(self) -> None:
        """Apply migrations, with a progress bar on a terminal (a first run applies dozens)."""
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        connection.close()
        tty = self.stdout.isatty()
        if plan and tty:
            self.stdout.write(f"Applying {len(plan)} database migrations…")
        bar = ProgressBar(len(plan), lambda text: self.stdout.write(text, ending=""), tty)

        class Migrate(MigrateCommand):
            def migration_progress_callback(
                self, action: str, migration: Any = None, fake: bool = False
            ) -> None:
                if action == "apply_success" and migration is not None:
                    bar.step(f"{migration.app_label}.{migration.name}")

        call_command(Migrate(), verbosity=0, interactive=False)

    # --- questions (interactive only) ---------------------------------------------------

    def _prompt(self, question: str, default: str = "") -> str:
        shown = f" [{default}]" if default else ""
        self.stdout.write(f"{question}{shown}: ", ending="")
        self.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            raise CommandError("Input ended; run with --no-input and flags to script it.")
        return line.strip() or default

    def _secret(self, question: str) -> str:
        if sys.stdin.isatty():
            return getpass.getpass(f"{question}: ")
        return self._prompt(question)  # piped input (scripts, tests): read a line

    def _ask_valid(self, question: str, default: str, check: Callable[[str], str]) -> str:
        """Ask until `check` accepts the answer (it returns it cleaned, or raises
        OnboardingError saying what is wrong); the answers given so far are kept."""
        while True:
            try:
                return check(self._prompt(question, default))
            except OnboardingError as exc:
                self.stdout.write(f"  {exc} Please try again.")

    def _ask_password(self, username: str, email: str, is_new: bool) -> str:
        question = "Admin password" + ("" if is_new else " (empty keeps the current one)")
        while True:
            password = self._secret(question)
            try:
                onboarding.check_admin_password(username, email, password)
            except OnboardingError as exc:
                self.stdout.write(f"  {exc} Please try again.")
                continue
            if not password or self._secret("Admin password again") == password:
                return password
            self.stdout.write("  The two passwords differ. Please try again.")

    def _ask(self, options: dict[str, Any]) -> None:
        existing = onboarding.existing_admin()
        username = self._ask_valid(
            "Admin username",
            options["admin_username"] or existing or "admin",
            onboarding.check_username,
        )
        options["admin_username"] = username
        is_new = not onboarding.user_exists(username)
        if is_new:
            options["admin_email"] = self._ask_valid(
                "Admin email", options["admin_email"], onboarding.check_email
            )
        options["password"] = self._ask_password(username, options["admin_email"], is_new)
        options["agent"] = self._ask_valid(
            "Agent slug",
            options["agent"] or settings.OPENCLAW_DEFAULT_AGENT,
            lambda slug: onboarding.check_agent_field("slug", slug.strip()),
        )
        options["agent_name"] = self._ask_valid(
            "Agent name",
            options["agent_name"],
            lambda name: name and onboarding.check_agent_field("name", name),
        )
        names = ", ".join(f"{p.name} ({p.label})" for p in PROVIDERS.values())
        self.stdout.write(f"Providers: {names}; empty keeps the agent's current model settings.")
        provider = self._ask_valid("Provider", options["provider"] or "", _check_provider)
        if not provider:
            return
        spec = PROVIDERS[provider]
        options["provider"] = provider

        def check_url(url: str) -> str:
            if spec.url_required and not url:
                raise OnboardingError(f"Provider {provider} needs a base URL (ending in /v1).")
            return url and onboarding.check_agent_field("base_url", url)

        options["base_url"] = self._ask_valid(
            "Base URL", options["base_url"] or spec.base_url, check_url
        )

        def check_model(model: str) -> str:
            onboarding.model_choice(provider, base_url=options["base_url"], model=model)
            return model

        options["model"] = self._ask_valid("Model", options["model"] or spec.model, check_model)
        key_env = spec.key_env if options["api_key_env"] is None else options["api_key_env"]
        options["api_key_env"] = self._ask_valid(
            "API key variable (empty: none)",
            key_env,
            lambda name: onboarding.check_agent_field("api_key_env", name),
        )

    # --- steps --------------------------------------------------------------------------

    def _admin(self, options: dict[str, Any]) -> onboarding.AdminResult | None:
        username = options["admin_username"]
        if not username:
            return onboarding.ensure_initial_admin() if options["initial_admin"] else None
        password = options.get("password")
        if password is None:  # scripted: from the named variable, never from a flag
            password = os.environ.get(options["admin_password_env"], "")
        return onboarding.ensure_admin(username, options["admin_email"], password)

    def _choice(self, options: dict[str, Any]) -> ModelChoice | None:
        if not options["provider"]:
            for flag in ("base_url", "model"):
                if options[flag]:
                    raise OnboardingError(f"--{flag.replace('_', '-')} needs --provider.")
            return None
        return onboarding.model_choice(
            options["provider"],
            base_url=options["base_url"],
            model=options["model"],
            api_key_env=options["api_key_env"],
        )

    def _summary(
        self, admin: onboarding.AdminResult | None, agent: Agent, options: dict[str, Any]
    ) -> None:
        port = settings.OPENCLAW_PORT
        login = f"log in at http://127.0.0.1:{port}/admin/"
        if admin is not None and admin.password_file:
            line = f"{admin.username} ({admin.action}); password in {admin.password_file}; {login}"
        elif admin is not None:
            line = f"{admin.username} ({admin.action}); {login}"
        elif existing := onboarding.existing_admin():
            line = f"{existing} (exists)"
            if existing == onboarding.INITIAL_ADMIN and onboarding.initial_password_in_use():
                path = onboarding.initial_password_path()
                line += f"; password in {path} until you change it; {login}"
        else:
            line = "none yet: run `manage.py onboard` (interactive) or `createsuperuser`"
        self._row("Admin user", line)
        files = ", ".join(onboarding.workspace_files(agent))
        self._row("Agent", f"{agent.slug} ({agent.name}); workspace {agent.workspace} ({files})")
        call = agent_model_settings(agent, options["timeout"])
        where = call.base_url or onboarding.OPENAI_URL
        self._row(
            "Model",
            f"{call.model or '(none)'} at {where}, {onboarding.key_status(call.api_key_env)}",
        )
        self._row("Gateway token", f"in {onboarding.token_location()}")
        if options["show_token"]:
            self._row("", settings.OPENCLAW_GATEWAY_TOKEN)
        if agent.slug != settings.OPENCLAW_DEFAULT_AGENT:
            self._row(
                "",
                f"clients reach it as agent {agent.slug!r} (the default stays "
                f"{settings.OPENCLAW_DEFAULT_AGENT!r}; OPENCLAW_DEFAULT_AGENT changes it)",
            )

    def _row(self, label: str, text: str) -> None:
        self.stdout.write(f"{label:<14} {text}")

    def _check(self, agent: Agent, options: dict[str, Any]) -> None:
        call = agent_model_settings(agent, options["timeout"])
        if call.model:  # without one, the probe answers at once with what to set
            self.stdout.write(
                f"Checking the model with one short call (up to {options['timeout']:g} s)…"
            )
        finding: Finding = asyncio.run(probe_model(call, options["timeout"]))
        if finding.severity == "ok":
            self.stdout.write(self.style.SUCCESS(f"ok: {finding.what}"))
            if gateway_running():
                self.stdout.write("The running gateway uses these settings from the next message.")
            else:
                self.stdout.write(
                    f"Start the gateway: make run (http://127.0.0.1:{settings.OPENCLAW_PORT}/)"
                )
            return
        message = f"Model check failed: {finding.what}\nfix: {finding.fix}"
        if options["warn_only"]:
            self.stderr.write(self.style.WARNING(message))
            return
        raise CommandError(message, returncode=1)
