"""An in-memory channel layer that may be written to from other threads.

The embedded default runs the ASGI server and the Celery worker in one process: the worker thread
has its own event loop, and asyncio queues are not thread-safe. Every write made from a loop other
than the one that serves WebSocket consumers is therefore handed to that loop.
"""
import asyncio

from channels.layers import InMemoryChannelLayer


class InProcessChannelLayer(InMemoryChannelLayer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._home_loop: asyncio.AbstractEventLoop | None = None

    def _foreign_home(self) -> asyncio.AbstractEventLoop | None:
        home = self._home_loop
        if home is None or home.is_closed() or not home.is_running():
            return None
        return None if asyncio.get_running_loop() is home else home

    async def _on_home(self, coro_fn, *args):
        home = self._foreign_home()
        if home is None:
            return await coro_fn(*args)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro_fn(*args), home))

    async def receive(self, channel):
        self._home_loop = asyncio.get_running_loop()
        return await super().receive(channel)

    async def send(self, channel, message):
        return await self._on_home(super().send, channel, message)

    async def group_send(self, group, message):
        return await self._on_home(super().group_send, group, message)

    async def group_add(self, group, channel):
        return await self._on_home(super().group_add, group, channel)

    async def group_discard(self, group, channel):
        return await self._on_home(super().group_discard, group, channel)
