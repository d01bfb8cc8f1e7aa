from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/jobs/<str:job_id>/", consumers.JobConsumer.as_asgi()),
    path("ws/notifications/", consumers.NotificationConsumer.as_asgi()),
]
