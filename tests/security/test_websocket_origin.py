"""WebSockets through the real ASGI entry point: a page on another site cannot open a socket with
the visitor's session (cross-site WebSocket hijacking); the site's own pages can."""
import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application


async def _connect(path: str, origin: bytes, cookie: str) -> bool:
    comm = WebsocketCommunicator(application, path, headers=[(b"origin", origin), (b"host", b"127.0.0.1"),
                                                              (b"cookie", cookie.encode())])
    connected, _ = await comm.connect(timeout=5)
    if connected:
        await comm.disconnect()
    return connected


@pytest.mark.django_db(transaction=True)
def test_websockets_refuse_other_origins_but_take_the_sites_own(make_user):
    client = Client()
    client.force_login(make_user("wsuser"))
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    assert not async_to_sync(_connect)("/ws/notifications/", b"http://evil.example", cookie)
    assert not async_to_sync(_connect)("/ws/notifications/", b"http://127.0.0.1.evil.example", cookie)
    assert async_to_sync(_connect)("/ws/notifications/", b"http://127.0.0.1:8000", cookie)
    assert not async_to_sync(_connect)("/ws/notifications/", b"http://127.0.0.1:8000", "sessionid=forged")
