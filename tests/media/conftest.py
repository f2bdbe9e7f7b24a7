"""The Telegram end-to-end fixtures (`fake`, `model`) for the media tests."""

from tests.telegram_e2e import fake, model  # noqa: F401  # registered here as fixtures
