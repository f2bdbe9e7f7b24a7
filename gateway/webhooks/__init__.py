"""Webhook views, one module per platform: verify → parse → route (journal) → 200."""
