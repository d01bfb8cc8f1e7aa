from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from .media import media_serve

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/", include("accounts.urls")),
    path("api/", include("feed.urls")),
    path("api/", include("generation.urls")),
    path("api/", include("safety.urls")),
    path("api/", include("cameos.urls")),
    path("", include("moderation.urls")),
    path("", include("safety.page_urls")),
    path("", include("frontend.urls")),
]

# An outage (database, Redis) that escapes a view is answered 503, anything else 500.
handler500 = "config.outage.server_error"

if settings.SERVE_MEDIA:
    prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns += [re_path(rf"^{prefix}(?P<path>.+)$", media_serve, name="media")]
