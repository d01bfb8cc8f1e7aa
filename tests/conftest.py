"""Shared fixtures. Tests run on the embedded default (SQLite, in-process broker and channel
layer) and, when DATABASE_URL / REDIS_URL are set, on PostgreSQL and Redis over real connections."""
import os

import pytest
from django.conf import settings
from rest_framework.test import APIClient


def pytest_configure(config):
    """Under pytest-xdist (`pytest -n N`) each worker is a process with its own test database
    (pytest-django) and here its own Redis keys: the Celery queues, the channel layer's groups and
    the cache (rate-limit counters, For You pools) of tests running at the same time never meet.
    Only key prefixes change (the Redis URL stays the environment's); nothing has connected to
    Redis yet: the broker, the channel layers and the caches read these settings on first use."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not settings.REDIS_URL:
        return
    if settings.CELERY_BROKER_URL.startswith("redis"):
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                                                    "global_keyprefix": f"{worker}:"}
    for layer in settings.CHANNEL_LAYERS.values():
        if layer["BACKEND"] == "channels_redis.core.RedisChannelLayer":
            layer["CONFIG"]["prefix"] = f'{layer["CONFIG"].get("prefix", "asgi")}-{worker}'
    for cache in settings.CACHES.values():
        if cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
            cache["KEY_PREFIX"] = f'{cache.get("KEY_PREFIX", "")}-{worker}'


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """A cheap password hash: tests make and sign in many accounts, and the production hasher
    (PBKDF2, a million rounds, ~0.4 s a hash here) is not what they test; checking a password,
    right or wrong, works the same. Sites started as separate processes keep the real hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_local_cache():
    """The embedded default's cache (LocMemCache, one per process) starts every test empty.
    SQLite hands a rolled-back row's primary key to the next row, so without this a counter keyed
    by a user id (a rate limit, a For You pool) could carry over to another test's user."""
    from django.core.cache import caches

    for alias, config in settings.CACHES.items():
        if config["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache":
            caches[alias].clear()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    """Rate limits are tested in tests/security; elsewhere many requests come from one address."""
    settings.THROTTLE_RATES = {scope: "100000/minute" for scope in settings.THROTTLE_RATES}


@pytest.fixture(scope="session", autouse=True)
def _empty_gpu_queue():
    """Unit tests publish real Celery messages; keep the queue they share empty."""
    from config.celery import app

    def purge():
        with app.connection_for_write() as conn:
            channel = conn.default_channel
            for queue in ("gpu", "cpu"):
                try:
                    channel.queue_purge(queue)
                except Exception:
                    pass

    purge()
    yield
    purge()


@pytest.fixture
def make_user(db):
    from accounts.services import user_create

    counter = {"n": 0}

    def make(username=None, **kwargs):
        counter["n"] += 1
        return user_create(username=username or f"user{counter['n']}", password="correct-horse-42", **kwargs)

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def staff(make_user):
    user = make_user("moderator")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def client_for():
    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture(scope="session")
def pipeline():
    """The real DiT pipeline (shipped weights), loaded once for the test session."""
    from generation.dit.pipeline import get_pipeline

    return get_pipeline()


def backend_names() -> str:
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"db={db} broker={settings.CELERY_BROKER_URL.split(':')[0]}"


def pytest_report_header(config):
    import django

    django.setup()
    return f"spacetime: {backend_names()}"
