"""Celery tasks of the feed (thin). Route: the default queue, "cpu"."""
import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import close_old_connections

log = logging.getLogger(__name__)


@shared_task(name="feed.for_you_pool_rebuild", ignore_result=True, acks_late=False, expires=60)
def for_you_pool_rebuild(user_id: int) -> bool:
    """Rebuild a viewer's stale For You pool (feed/for_you/pool.py sends it). Not retried: a page
    that finds no pool builds one itself."""
    from .for_you import build, pool

    close_old_connections()
    try:
        viewer = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        return viewer is not None and build.pool_rebuild(viewer=viewer)
    finally:
        pool.rebuild_done(user_id)
        close_old_connections()
