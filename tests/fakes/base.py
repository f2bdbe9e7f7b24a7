"""What every fake server shares: its aiohttp app on a free port of `host`, started on a loop
thread of its own (`start()`, `with`) or on the caller's loop (`astart()`, `async with`)."""

from typing import Self

from aiohttp import web

from tests.fakes.background import BackgroundLoop


class FakeServer:
    """A subclass adds its routes in `_routes`; `url` raises until the server runs."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._background: BackgroundLoop | None = None

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        self._background = BackgroundLoop(type(self).__name__)
        self._background.run(self.astart())
        return self

    def stop(self) -> None:
        background, self._background = self._background, None
        if background is not None:
            background.close(self.astop())

    async def astart(self) -> Self:
        app = web.Application()
        self._routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, self.host, 0).start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self

    async def astop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.port = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()
