"""Shared fixtures. Tests run on the embedded default (SQLite, in-process broker and channel
layer) and, when DATABASE_URL / REDIS_URL are set, on PostgreSQL and Redis over real connections."""
import pytest
from django.conf import settings
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """A cheap password hash: tests make and sign in many accounts, and the production hasher
    (PBKDF2, a million rounds, ~0.4 s a hash here) is not what they test; checking a password,
    right or wrong, works the same. Sites started as separate processes keep the real hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
