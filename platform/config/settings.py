"""Spacetime settings, read from the environment with django-environ.

With no variables set the site runs embedded: SQLite, media on local disk, an in-process Celery
broker and channel layer, and a generation worker inside `manage.py runsite`.
DATABASE_URL -> PostgreSQL (psycopg 3); REDIS_URL -> Redis for Celery and channels-redis;
AWS_STORAGE_BUCKET_NAME (+ AWS_S3_ENDPOINT_URL, keys, region) -> S3 through django-storages.
"""
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="spacetime-embedded-development-key-change-me-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Production hardening (DEBUG=false): `manage.py check --deploy` is clean --------------------
if not DEBUG and "SECRET_KEY" not in env.ENVIRON:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("DEBUG=false needs SECRET_KEY in the environment (50+ random characters).")
# HTTPS everywhere in production; behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER=true.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Uploads larger than this stream to a temporary file instead of memory; requests whose non-file
# fields exceed DATA_UPLOAD_MAX_MEMORY_SIZE are refused (Django's defaults, stated here).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "accounts",
    "feed",
    "generation",
    "safety",
    "moderation",
    "cameos",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.outage.ServiceUnavailableMiddleware",  # database/Redis down -> clear 503, never 500
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded worker thread writes progress while the web server reads: WAL + a busy timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE",
         "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
    DATABASES["default"]["TEST"] = {"NAME": env("SQLITE_TEST_NAME", default=None)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# PostgreSQL: the hand-written statements of a For You page built from scratch (candidates,
# signals, cards: feed/for_you/candidates.py) run prepared once one has run this many times on a
# connection, with a generic plan: planned once per connection instead of on every page (the
# candidate statement: 5.6 -> 3.0 ms at 1M likes). Pays only with connections that outlive a
# request (CONN_MAX_AGE > 0, or a connection pool). Empty (the default, as Django leaves it): off.
# Leave it off behind a transaction-mode pooler: a prepared statement lives in one server session,
# which PgBouncer does not keep (before 1.21, or without max_prepared_statements), and PgBouncer
# refuses the `options` start-up parameter set below unless told to ignore it.
_prepare_threshold = env("DATABASE_PREPARE_THRESHOLD", default="")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and _prepare_threshold != "":
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["prepare_threshold"] = int(_prepare_threshold)
    # the session's generic plans for statements prepared server side: Django's own cursors bind
    # client side and never prepare, so this concerns those statements alone
    _options["options"] = f"{_options.get('options', '')} -c plan_cache_mode=force_generic_plan".strip()
# PostgreSQL: a pool of connections per process (Django's, over psycopg_pool), so connections
# outlive requests without CONN_MAX_AGE, whose thread-bound connections pile up under ASGI (each
# request borrows one and gives it back when it ends). With the pool, the prepared statements above
# live as long as their pooled connection. 0 (the default): no pool, one connection per request.
_pool_max = env.int("DATABASE_POOL_MAX", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and _pool_max > 0:
    if DATABASES["default"]["CONN_MAX_AGE"]:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("DATABASE_POOL_MAX needs CONN_MAX_AGE=0: the pool keeps the connections")
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": _pool_max, "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "frontend:login"
LOGIN_REDIRECT_URL = "frontend:feed"
LOGOUT_REDIRECT_URL = "frontend:feed"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media files ----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True  # serve straight from app folders: no collectstatic needed
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = env("MEDIA_URL", default="/media/")
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))

AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "access_key": env("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env("AWS_SECRET_ACCESS_KEY", default=None),
            "custom_domain": env("AWS_S3_CUSTOM_DOMAIN", default=None),
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=True),
            "file_overwrite": False,
            "default_acl": None,
        },
    }
else:
    DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=not AWS_STORAGE_BUCKET_NAME)

# --- Redis, Celery, Channels ---------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
# True when the broker lives inside this process: `runsite` then starts the worker itself.
CELERY_BROKER_IN_PROCESS = CELERY_BROKER_URL.startswith("memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# "gpu": generation (one process per GPU); "cpu": everything else (sweeps, housekeeping).
CELERY_TASK_ROUTES = {"generation.job_run": {"queue": "gpu"}, "generation.jobs_reap": {"queue": "cpu"}}
CELERY_TASK_DEFAULT_QUEUE = "cpu"
# `celery -A config beat` sends the sweep on this schedule; every worker also sweeps in a thread of
# its own (generation/reaper.py), so recovery does not depend on a beat process being up.
CELERY_BEAT_SCHEDULE = {
    "generation-sweep": {"task": "generation.jobs_reap",
                         "schedule": env.float("GENERATION_REAP_EVERY_S", default=15.0),
                         "options": {"expires": 60}},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # An unacknowledged message (its worker died) comes back after this long.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _fs = Path(env("CELERY_FILESYSTEM_DIR", default=str(BASE_DIR / "media" / ".broker")))
    (_fs / "queue").mkdir(parents=True, exist_ok=True)
    (_fs / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {"data_folder_in": str(_fs / "queue"), "data_folder_out": str(_fs / "queue"),
         "processed_folder": str(_fs / "processed"), "store_processed": False}
    )

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env("CHANNELS_PREFIX", default="spacetime")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "config.channel_layers.InProcessChannelLayer"}}

# --- Generation ----------------------------------------------------------------------------
GENERATION = {
    "PROMPT_MAX_CHARS": 500,
    "DEFAULT_STEPS": env.int("GENERATION_DEFAULT_STEPS", default=20),
    "MAX_STEPS": 100,
    "DEFAULT_GUIDANCE": 2.0,
    "MAX_GUIDANCE": 10.0,
    "MAX_ACTIVE_JOBS_PER_USER": env.int("GENERATION_MAX_ACTIVE_JOBS", default=5),
    # Jobs one account may start per UTC day (staff are exempt; 0 turns the limit off).
    "DAILY_LIMIT": env.int("GENERATION_DAILY_LIMIT", default=50),
    # A running job whose heartbeat is older than this is taken as lost with its worker.
    "STALE_AFTER_S": env.float("GENERATION_STALE_AFTER_S", default=120.0),
    "REAP_EVERY_S": env.float("GENERATION_REAP_EVERY_S", default=15.0),
    "MAX_ATTEMPTS": env.int("GENERATION_MAX_ATTEMPTS", default=3),
    # A job still queued this long after its message was sent gets its message sent again (the
    # broker lost it: Redis restarted without persistence, a publish failed during an outage).
    "RESEND_QUEUED_AFTER_S": env.float("GENERATION_RESEND_QUEUED_AFTER_S", default=300.0),
    "PROGRESS_WRITE_EVERY_S": 0.5,
    # >1: a worker's concurrent jobs are denoised together, up to this many a batch
    # (run it with a thread pool of that size; generation/services/run.py pipeline_get).
    "BATCH_MAX": env.int("GENERATION_BATCH_MAX", default=1),
}

# --- Safety --------------------------------------------------------------------------------
SAFETY = {
    # The instance's C2PA signing key and certificates (never under MEDIA_ROOT: that is served).
    "SIGNING_DIR": env("SPACETIME_SIGNING_DIR", default=str(BASE_DIR / ".signing")),
    "INSTANCE_NAME": env("SPACETIME_INSTANCE_NAME", default="Spacetime"),
    # Frame check (safety/frame_check.py): frames checked per clip, NSFW score that holds a clip.
    "FRAME_SAMPLES": env.int("SPACETIME_FRAME_SAMPLES", default=4),
    "FRAME_NSFW_THRESHOLD": env.float("SPACETIME_FRAME_NSFW_THRESHOLD", default=0.8),
}

# --- API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.WriteRateThrottle"],
}
# Rate limits (config/throttling.py): "N/second|minute|hour|day"; an empty value turns one off.
THROTTLE_RATES = {
    "login": env("THROTTLE_LOGIN", default="10/minute") or None,  # one username from one address
    "login_ip": env("THROTTLE_LOGIN_IP", default="60/minute") or None,  # any username from one address
    "signup": env("THROTTLE_SIGNUP", default="30/hour") or None,
    "write": env("THROTTLE_WRITE", default="300/minute") or None,  # one user's writes
}
if REDIS_URL:  # shared by every web process: rate-limit counters
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": env("CACHE_PREFIX", default="spacetime"),
                          "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SPECTACULAR_SETTINGS = {
    "TITLE": "Spacetime API",
    "DESCRIPTION": "Prompts become short videos; post them, follow people, like and comment.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # request bodies get their own components, so uploads are described as files (format: binary)
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# WhiteNoise serves static files with a synchronous iterator; under ASGI Django buffers it and warns.
import warnings  # noqa: E402

warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
