"""The Telegram end-to-end fixtures (`fake`, `model`), shared with tests/security."""

from tests.telegram_e2e import fake, model  # noqa: F401  # registered here as fixtures
