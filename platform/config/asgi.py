"""ASGI entry point: HTTP goes to Django, WebSockets to Channels consumers (session auth)."""
import os
import sys
from pathlib import Path

_root = Path(__file__).resolve().parents[2]
for _p in (str(_root / "platform"), str(_root)):
    if _p not in sys.path:
        sys.path.insert(0, _p)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from generation.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
