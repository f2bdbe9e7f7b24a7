"""The in-memory channel layer, with its expiry sweep throttled.

Channels' layer sweeps every channel and group member on every send and receive: with thousands
of idle sockets that sweep was half the gateway's CPU (bench scenario c). Expiry is a safety net
measured in seconds, so sweeping at most once a second loses nothing.
"""

import time

from channels.layers import InMemoryChannelLayer

SWEEP_SECONDS = 1.0


class GatewayInMemoryChannelLayer(InMemoryChannelLayer):  # type: ignore[misc]  # untyped base
    _last_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep < SWEEP_SECONDS:
            return
        self._last_sweep = now
        super()._clean_expired()
