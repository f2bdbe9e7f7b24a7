"""First-run set-up behind `manage.py onboard`: the admin user, an agent with its workspace and
model provider, where the gateway token lives. Plain functions, no prompts, so the interactive
and the scripted paths (and tests) share them; each is safe to run again.
"""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Field, Model

from agents import providers
from agents.models import Agent
from agents.services import ensure_default_agent
from agents.workspace import BOOTSTRAP_FILES, create_workspace
from memory.sync import sync_agent

OPENAI_URL = "https://api.openai.com/v1"
INITIAL_ADMIN = "admin"
INITIAL_PASSWORD_FILE = "admin.password"  # noqa: S105  # a file name, not a password


class OnboardingError(ValueError):
    """Input that cannot be used; the message says what to give instead."""


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    label: str
    base_url: str  # "" for OpenAI itself (the SDK's default)
    key_env: str  # "" for servers that take no key
    model: str  # a sensible default model id, "" when the server decides
    url_required: bool = False
    prefix: str = ""  # the model id's provider (agents.providers); "" for a bare id at base_url


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider("openai", "OpenAI", "", "OPENAI_API_KEY", "gpt-4o-mini"),
        Provider(
            "anthropic",
            "Anthropic",
            "",
            "ANTHROPIC_API_KEY",
            "claude-sonnet-4-5",
            prefix="anthropic",
        ),
        Provider(
            "azure",
            "Azure OpenAI (model: the deployment; AZURE_OPENAI_ENDPOINT)",
            "",
            "AZURE_OPENAI_API_KEY",
            "",
            prefix="azure",
        ),
        Provider("gemini", "Gemini", "", "GEMINI_API_KEY", "gemini-2.5-flash", prefix="gemini"),
        Provider("ollama", "Ollama", "http://127.0.0.1:11434/v1", "", "llama3.1"),
        Provider("vllm", "vLLM", "http://127.0.0.1:8000/v1", "", ""),
        Provider("lmstudio", "LM Studio", "http://127.0.0.1:1234/v1", "", ""),
        Provider(
            "openrouter",
            "OpenRouter",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
            "openai/gpt-4o-mini",
        ),
        Provider("custom", "any OpenAI-compatible API", "", "", "", url_required=True),
    )
}


@dataclass(frozen=True, slots=True)
class ModelChoice:
    provider: str
    base_url: str
    model: str
    api_key_env: str


def model_choice(
    provider: str, *, base_url: str = "", model: str = "", api_key_env: str | None = None
) -> ModelChoice:
    """The provider's defaults filled in; raises `OnboardingError` naming what is missing."""
    spec = PROVIDERS.get(provider)
    if spec is None:
        raise OnboardingError(f"Unknown provider {provider!r}: use one of {', '.join(PROVIDERS)}.")
    url = (base_url or spec.base_url).rstrip("/")
    if spec.url_required and not url:
        raise OnboardingError(f"Provider {provider} needs a base URL (--base-url, ending in /v1).")
    chosen = model or spec.model
    if not chosen:
        raise OnboardingError(
            f"Provider {provider} has no default model: give one with --model "
            f"(`curl {url or OPENAI_URL}/models` lists them)."
        )
    if spec.prefix and not chosen.startswith(f"{spec.prefix}/"):
        chosen = f"{spec.prefix}/{chosen}"
    if problem := providers.check_model_id(chosen):
        raise OnboardingError(f"Model {chosen!r}: {problem}")
    key_env = spec.key_env if api_key_env is None else api_key_env
    return ModelChoice(provider, url, chosen, key_env)


def _clean(model: type[Model], name: str, value: str) -> str:
    """`value` checked by the model field's own validators; OnboardingError says why not."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{model.__name__}.{name} is not a plain field")
    try:
        return str(field.clean(value, None))
    except ValidationError as exc:
        raise OnboardingError(" ".join(exc.messages)) from None


def check_agent_field(name: str, value: str) -> str:
    """`value` for the Agent field `name` (slug, name, base_url, api_key_env), checked with the
    field's own validators; raises `OnboardingError` saying what is wrong."""
    return _clean(Agent, name, value)


def check_username(username: str) -> str:
    users = get_user_model()
    username = username.strip()
    if not username:
        raise OnboardingError("The admin username is empty.")
    return _clean(users, users.USERNAME_FIELD, username)


def check_email(email: str) -> str:
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise OnboardingError(" ".join(exc.messages)) from None
    return email


def check_admin_password(username: str, email: str, password: str) -> str:
    """The password for `username`, checked by the configured validators (AUTH_PASSWORD_
    VALIDATORS); empty only for an existing user (it keeps the current one)."""
    users = get_user_model()
    user = users.objects.filter(username=username).first()
    if not password:
        if user is None:
            raise OnboardingError(f"A new admin user {username!r} needs a password.")
        return password
    try:
        validate_password(password, user or users(username=username, email=email))
    except ValidationError as exc:
        raise OnboardingError("The admin password: " + " ".join(exc.messages)) from None
    return password


@dataclass(frozen=True, slots=True)
class AdminResult:
    username: str
    action: str  # created, updated, unchanged
    password_file: str = ""  # where a generated password was written


def ensure_admin(username: str, email: str = "", password: str = "") -> AdminResult:
    """Create the superuser, or make an existing user one; a password is set only when given
    (a new user needs one) and must pass the configured validators."""
    users = get_user_model()
    username = username.strip()
    if not username:
        raise OnboardingError("The admin username is empty.")
    user = users.objects.filter(username=username).first()
    if user is None and not password:
        raise OnboardingError(
            f"A new admin user {username!r} needs a password: pass --admin-password-env with "
            "the name of a variable holding it, or run onboard interactively."
        )
    check_admin_password(username, email, password)
    if user is None:
        users.objects.create_superuser(username=username, email=email, password=password)
        return AdminResult(username, "created")
    changed = False
    if email and user.email != email:
        user.email, changed = email, True
    if password and not user.check_password(password):
        user.set_password(password)
        changed = True
    if not (user.is_staff and user.is_superuser and user.is_active):
        user.is_staff = user.is_superuser = user.is_active = True
        changed = True
    if changed:
        user.save()
    return AdminResult(username, "updated" if changed else "unchanged")


def initial_password_path() -> Path:
    return Path(settings.OPENCLAW_HOME) / INITIAL_PASSWORD_FILE


def ensure_initial_admin() -> AdminResult | None:
    """First run without questions (`make run`): when there is no active superuser and no user
    named `admin`, create `admin` with a generated password written to
    OPENCLAW_HOME/admin.password (mode 0600, like gateway.token). None when nothing was done."""
    users = get_user_model()
    if existing_admin() or users.objects.filter(username=INITIAL_ADMIN).exists():
        return None
    path = initial_password_path()
    password = secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that was already there
    users.objects.create_superuser(username=INITIAL_ADMIN, email="", password=password)
    return AdminResult(INITIAL_ADMIN, "created", str(path))


def initial_password_in_use() -> bool | None:
    """Whether admin.password still logs `admin` in (None when there is no such file)."""
    path = initial_password_path()
    try:
        password = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    user = get_user_model().objects.filter(username=INITIAL_ADMIN, is_active=True).first()
    return bool(user and password and user.check_password(password))


def user_exists(username: str) -> bool:
    return get_user_model().objects.filter(username=username).exists()


def existing_admin() -> str:
    """The username of an active superuser, or "" when there is none."""
    user = (
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .order_by("pk")
        .values_list("username", flat=True)
        .first()
    )
    return str(user or "")


def ensure_agent(slug: str, name: str = "", choice: ModelChoice | None = None) -> Agent:
    """The agent (created with its workspace when missing), with `choice` as its model."""
    slug = slug.strip()
    with transaction.atomic():
        if slug == settings.OPENCLAW_DEFAULT_AGENT:
            agent = ensure_default_agent()
        else:
            agent, _ = Agent.objects.get_or_create(slug=slug, defaults={"name": name or slug})
        if name:
            agent.name = name
        if choice is not None:
            agent.model, agent.base_url, agent.api_key_env = (
                choice.model,
                choice.base_url,
                choice.api_key_env,
            )
        try:
            agent.full_clean()
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(m)}" for field, m in exc.message_dict.items())
            raise OnboardingError(f"Agent {slug!r} is not valid: {problems}.") from None
        agent.enabled = True
        agent.save()
    create_workspace(agent.workspace, agent_name=agent.name)
    sync_agent(agent)  # its MEMORY.md has a row (and a place in the admin) from the start
    return agent


def workspace_files(agent: Agent) -> list[str]:
    folder = Path(agent.workspace)
    return [name for name in BOOTSTRAP_FILES if (folder / name).is_file()]


def token_location() -> str:
    """Where the gateway token comes from (never the token itself)."""
    if settings.OPENCLAW_GATEWAY_TOKEN_FROM_ENV:
        return "the OPENCLAW_GATEWAY_TOKEN variable"
    return str(Path(settings.OPENCLAW_HOME) / "gateway.token")


def key_status(api_key_env: str) -> str:
    """Whether the agent's key variable is set (never its value)."""
    if not api_key_env:
        return "no API key (the server takes none)"
    if api_key_env in settings.OPENCLAW_PROVIDER_KEYS:
        return f"key from {api_key_env} (set)"
    return f"key from {api_key_env} (NOT set: add it to the environment or .env)"
