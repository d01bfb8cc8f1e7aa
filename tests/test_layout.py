"""The layout rules of the repository."""
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


def test_platform_is_the_standard_library_module():
    import platform

    assert platform.system() in {"Linux", "Darwin", "Windows"}
    assert "site-packages" not in platform.__file__ and not platform.__file__.startswith(str(ROOT))
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_manage_py_puts_platform_on_the_path_and_stdlib_platform_still_wins():
    code = "import platform, config.settings, accounts; print(platform.system(), accounts.__file__)"
    out = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "no issues" in out.stdout
    probe = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = ['platform', '.']; {code}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    system, accounts_file = probe.stdout.split()
    assert system == "Linux" or system == "Darwin"
    assert accounts_file.startswith(str(ROOT / "platform" / "accounts"))


def test_settings_follow_the_environment():
    import os

    engine = settings.DATABASES["default"]["ENGINE"]
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        assert engine == "django.db.backends.postgresql"
    elif not os.environ.get("DATABASE_URL"):
        assert engine == "django.db.backends.sqlite3"
    if os.environ.get("REDIS_URL"):
        assert settings.CELERY_BROKER_URL == os.environ["REDIS_URL"]
        assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    else:
        assert settings.CELERY_BROKER_URL == "memory://"
        assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "config.channel_layers.InProcessChannelLayer"


@pytest.mark.django_db
def test_openapi_schema_is_served(client):
    res = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert res.status_code == 200
    import json

    schema = json.loads(res.content)
    assert "/api/generations" in schema["paths"]
    assert "/api/feed" in schema["paths"]
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_s3_and_redis_settings_come_from_the_environment():
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(AWS_STORAGE_BUCKET_NAME="media", AWS_S3_ENDPOINT_URL="http://127.0.0.1:9", REDIS_URL="redis://h:1/2",
               DATABASE_URL="postgres://u@db:5432/spacetime")
    code = ("from django.conf import settings as s; import django; django.setup(); "
            "print(s.STORAGES['default']['BACKEND'], s.STORAGES['default']['OPTIONS']['endpoint_url'], "
            "s.CELERY_BROKER_URL, s.CHANNEL_LAYERS['default']['BACKEND'], s.DATABASES['default']['ENGINE'], s.SERVE_MEDIA)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env | {"PYTHONPATH": "platform:."},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "storages.backends.s3.S3Storage", "http://127.0.0.1:9", "redis://h:1/2",
        "channels_redis.core.RedisChannelLayer", "django.db.backends.postgresql", "False",
    ]


def _settings_in_env(code: str, **env_vars) -> subprocess.CompletedProcess:
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATABASE_URL="postgres://u@db:5432/spacetime", **env_vars)
    return subprocess.run([sys.executable, "-c", "from django.conf import settings as s; import django; "
                           f"django.setup(); {code}"], cwd=ROOT, env=env | {"PYTHONPATH": "platform:."},
                          capture_output=True, text=True, timeout=60)


def test_database_pool_and_prepared_statements_come_from_the_environment():
    show = "o = s.DATABASES['default'].get('OPTIONS', {}); print(o.get('pool'), o.get('prepare_threshold'))"
    assert _settings_in_env(show).stdout.split() == ["None", "None"]  # the default: neither
    out = _settings_in_env(show, DATABASE_POOL_MAX="6", DATABASE_PREPARE_THRESHOLD="2")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{'min_size': 1, 'max_size': 6, 'timeout': 10.0} 2"
    clash = _settings_in_env(show, DATABASE_POOL_MAX="6", CONN_MAX_AGE="60")
    assert clash.returncode != 0 and "DATABASE_POOL_MAX needs CONN_MAX_AGE=0" in clash.stderr
