"""`onboard`'s provider choices write provider-qualified model ids with the provider's key
variable, and refuse an id no provider could serve."""

import pytest

from gateway.operator.onboarding import OnboardingError, model_choice


@pytest.mark.parametrize(
    ("provider", "model", "expected", "key_env"),
    [
        ("anthropic", "", "anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
        ("anthropic", "claude-opus-4-1", "anthropic/claude-opus-4-1", "ANTHROPIC_API_KEY"),
        ("anthropic", "anthropic/claude-x", "anthropic/claude-x", "ANTHROPIC_API_KEY"),
        ("gemini", "", "gemini/gemini-2.5-flash", "GEMINI_API_KEY"),
        ("azure", "prod-gpt5", "azure/prod-gpt5", "AZURE_OPENAI_API_KEY"),
        ("openai", "", "gpt-4o-mini", "OPENAI_API_KEY"),  # as before: a bare id
    ],
)
def test_provider_choices_write_qualified_ids(
    provider: str, model: str, expected: str, key_env: str
) -> None:
    choice = model_choice(provider, model=model)
    assert (choice.model, choice.api_key_env, choice.base_url) == (expected, key_env, "")


def test_azure_needs_a_deployment_and_bad_ids_are_refused() -> None:
    with pytest.raises(OnboardingError, match="no default model"):
        model_choice("azure")
    with pytest.raises(OnboardingError, match="one word"):
        model_choice("anthropic", model="claude sonnet")
