"""Validators of the agents app's model fields (migrations name them through agents.models)."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError

from agents import providers


def _check_key_env(value: str) -> None:
    if value and not value.endswith("_API_KEY"):
        raise ValidationError(
            "The variable name must end in _API_KEY (for example OPENAI_API_KEY)."
        )


def _check_model_id(value: str) -> None:
    if problem := providers.check_model_id(value):
        raise ValidationError(problem)


def _check_fallbacks(value: object) -> None:
    if not isinstance(value, list) or not all(
        isinstance(item, str)
        or (isinstance(item, dict) and isinstance(item.get("model"), str) and item["model"])
        for item in value
    ):
        raise ValidationError(
            'A list of model ids or {"model": …, "base_url": …, "api_key_env": …} objects.'
        )
    for item in value:
        model_id = item if isinstance(item, str) else item["model"]
        if problem := providers.check_model_id(model_id):
            raise ValidationError(f"Fallback {model_id!r}: {problem}")


def _check_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris).") from None


def _check_names(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("A list of names.")
