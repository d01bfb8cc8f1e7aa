"""WebSocket consumers (thin). /ws/jobs/<id>/: one job's events, for its owner and staff only.
/ws/notifications/: the signed-in user's own notifications."""
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import selectors
from .services import events

REFUSED_ANONYMOUS = 4401
REFUSED_FORBIDDEN = 4403


def _snapshot(job_id, user) -> dict | None:
    job = selectors.job_get_for_user(job_id=job_id, user=user)
    return None if job is None else events.event_for(job)


class JobConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=REFUSED_ANONYMOUS)
            return
        job_id = self.scope["url_route"]["kwargs"]["job_id"]
        snapshot = await database_sync_to_async(_snapshot)(job_id, user)
        if snapshot is None:  # unknown job, or someone else's: same answer, nothing leaks
            await self.close(code=REFUSED_FORBIDDEN)
            return
        self.group = events.job_group(snapshot["job"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # Read the state again after joining the group, so no event between the two reads is missed.
        snapshot = await database_sync_to_async(_snapshot)(job_id, user)
        await self.send_json(snapshot)

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def job_event(self, message):
        await self.send_json(message["event"])


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=REFUSED_ANONYMOUS)
            return
        self.group = events.user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def user_notification(self, message):
        await self.send_json({"type": "notification"} | message["payload"] | {"type": "notification"})
