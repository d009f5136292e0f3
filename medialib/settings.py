"""Settings: every value read from the environment here, with working defaults on one machine."""
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_seconds(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ImproperlyConfigured(f"{name} must be a number of seconds (0 or more), not {value!r}")
    return seconds


# Everything the app writes on one machine (database, broker, files) stays under this folder.
VAR_DIR = Path(os.environ.get("MEDIALIB_VAR_DIR") or BASE_DIR / "var").resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", True)

# Production (DEBUG off) must be given SECRET_KEY; the system check medialib.E001 says so at start.
# On one machine a random key is made once and kept under var/, so no key is ever shared or guessable.
SECRET_KEY_FROM_ENV = bool(os.environ.get("SECRET_KEY"))
if SECRET_KEY_FROM_ENV:
    SECRET_KEY = os.environ["SECRET_KEY"]
else:
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "taggit",
    "medialib",
    "tagging",
    "search",
    "medialib.api",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Chunked request bodies (the Node SDK's uploads) read and given a length before anything reads the body.
    "medialib.middleware.ChunkedRequestMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's, with a lock met saving the session a 503 (as DatabaseBusyMiddleware makes one in a view).
    "medialib.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "medialib.middleware.ContentSecurityPolicyMiddleware",
    "medialib.middleware.DatabaseBusyMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "medialib.urls"
WSGI_APPLICATION = "medialib.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- Database: SQLite under var/ unless DATABASE_URL names another.
_database_url = os.environ.get("DATABASE_URL")
if _database_url:
    try:
        DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    except Exception as exc:  # dj-database-url raises several types for a bad URL
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Django understands: {exc}") from None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "medialib.sqlite3",
            # The web server and the worker write at the same time: WAL lets readers go on while one
            # writes, and IMMEDIATE transactions wait for the lock instead of failing half-way.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# --- Sign-in: django-axes counts failed logins per username and client IP (the pair: one attacker can
# neither lock a user out from everywhere nor try many passwords on one name) in the database, so every
# web process sees the same count; past the limit the pair is refused, even with the right password,
# until the cool-off has passed since the last failure.
AUTHENTICATION_BACKENDS = ["medialib.auth_backends.LoginLockoutBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("MEDIALIB_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("MEDIALIB_LOGIN_LOCKOUT_SECONDS", 900))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Behind nginx (docker-compose.yml) the client's address is the last one nginx appended to X-Forwarded-For;
# MEDIALIB_PROXY_COUNT says how many proxies to trust (0: REMOTE_ADDR, nothing a client could forge).
MEDIALIB_PROXY_COUNT = env_int("MEDIALIB_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "medialib.clients.client_ip"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "medialib:gallery"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"

# --- Files: local folder under var/media/ unless MEDIALIB_STORAGE=s3.
MEDIALIB_STORAGE = os.environ.get("MEDIALIB_STORAGE", "local")
MEDIA_ROOT = Path(os.environ.get("MEDIALIB_MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "/media/"
AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL") or None
AWS_REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
if MEDIALIB_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": AWS_S3_ENDPOINT_URL,
            "region_name": AWS_REGION,
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Uploads: limits checked on every file before it is stored.
MEDIALIB_MAX_UPLOAD_BYTES = env_int("MEDIALIB_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
# A decoded pixel costs 3-4 bytes (RGB, RGBA) however small the file (a 100 MP PNG of one colour is 400 KB):
# 50 MP is 200 MB per upload being validated or rendered, which 3 web and 2 worker processes on a 2-core,
# few-GB machine can hold at once (bench/memory.py, BENCHMARKS.md).
MEDIALIB_MAX_PIXELS = env_int("MEDIALIB_MAX_PIXELS", 50_000_000)
MEDIALIB_MAX_FILES_PER_REQUEST = env_int("MEDIALIB_MAX_FILES_PER_REQUEST", 100)
# Django refuses a request with more parts than this; keep it above the files allowed per request.
DATA_UPLOAD_MAX_NUMBER_FILES = MEDIALIB_MAX_FILES_PER_REQUEST
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
MEDIALIB_GALLERY_PAGE_SIZE = env_int("MEDIALIB_GALLERY_PAGE_SIZE", 48)
MEDIALIB_CLOUD_NAME = os.environ.get("MEDIALIB_CLOUD_NAME", "medialib")
# Who sees whose photos: "shared" (every user sees the whole library, as always) or "private" (users see their own;
# staff see all). Enforced by medialib.selectors.assets_visible_to, which every page's read goes through.
MEDIALIB_VISIBILITY = os.environ.get("MEDIALIB_VISIBILITY", "shared")
# Who may load a delivery URL (/<cloud>/image/upload/...): "signed" (URLs signed with an API key's secret, as
# the SDKs' sign_url=True, and signed-in users who may see the image) or "public" (anyone with the URL, as
# Cloudinary's type=upload). Signed by default: a self-hosted library holds people's private photos.
MEDIALIB_DELIVERY_ACCESS = os.environ.get("MEDIALIB_DELIVERY_ACCESS", "signed")
# Cloudinary's "strict transformations": a URL neither signed nor loaded by a signed-in user may only ask for the
# original, a named transformation marked allowed_unsigned, one listed below, or a rendition already kept. Off by
# default, as on Cloudinary, and because the default signed access already admits only signed URLs and signed-in
# users; turn it on with MEDIALIB_DELIVERY_ACCESS=public so that strangers cannot make the server render anything.
MEDIALIB_DELIVERY_STRICT_TRANSFORMATIONS = env_bool("MEDIALIB_DELIVERY_STRICT_TRANSFORMATIONS", False)
# Transformations anyone may ask for under strict transformations, separated by spaces ("c_fill,h_200,w_200
# c_scale,w_800/e_grayscale"), compared in canonical form; each must parse (check medialib.E014).
MEDIALIB_DELIVERY_ALLOWED_TRANSFORMATIONS = os.environ.get("MEDIALIB_DELIVERY_ALLOWED_TRANSFORMATIONS", "").split()
# Scheme and host people reach the server at ("https://media.example.org"), for the url and secure_url the API
# answers; empty: the request's own host.
MEDIALIB_PUBLIC_BASE_URL = os.environ.get("MEDIALIB_PUBLIC_BASE_URL", "").rstrip("/")
# The largest image a transformation may produce (w_10000,h_10000 would be 100 MP).
MEDIALIB_MAX_OUTPUT_PIXELS = env_int("MEDIALIB_MAX_OUTPUT_PIXELS", 25_000_000)
# Kept renditions (medialib/renditions.py): at most this many per image and version (in public mode anyone may
# ask for new sizes; beyond it they are rendered and not kept), how long a request waits for another process
# making the same rendition, and after how long a claim whose process died is taken over.
MEDIALIB_DELIVERY_MAX_KEPT_PER_ASSET = env_int("MEDIALIB_DELIVERY_MAX_KEPT_PER_ASSET", 200)
MEDIALIB_DELIVERY_WAIT_SECONDS = env_int("MEDIALIB_DELIVERY_WAIT_SECONDS", 30)
MEDIALIB_DELIVERY_CLAIM_STALE_SECONDS = env_int("MEDIALIB_DELIVERY_CLAIM_STALE_SECONDS", 120)
# The function giving the faces a face gravity crops to: (asset) -> [(left, top, width, height)] or None (unknown).
MEDIALIB_DELIVERY_FACE_BOXES = "tagging.selectors.face_boxes"
# g_face/g_faces/g_auto on an image nobody analysed: how long a delivery request waits for the worker to find its
# faces (tagging.services.gravity). One photo takes the local detector well under a second when the worker is
# free; 10 s leaves room for a queue. 0: never wait (that request crops without faces, later ones get them).
MEDIALIB_DELIVERY_FACES_WAIT_SECONDS = env_seconds("MEDIALIB_DELIVERY_FACES_WAIT_SECONDS", 10.0)
# upload, explicit and the Admin API's update with add-ons wait this long for the worker's results and answer them
# ("status": "complete" and the auto tags), as Cloudinary's synchronous calls do; past it they answer "pending".
# async=true answers at once. One photo with both add-ons takes the local detectors about a second.
MEDIALIB_API_RESULT_WAIT_SECONDS = env_seconds("MEDIALIB_API_RESULT_WAIT_SECONDS", 10.0)
# The worker wakes those waiting requests through Redis publish/subscribe (medialib/wakeups.py): this URL, else the
# broker's or the cache's when they are Redis; with none, the waiters ask the database with a 25-250 ms backoff.
MEDIALIB_WAKEUP_REDIS_URL = os.environ.get("MEDIALIB_WAKEUP_REDIS_URL", "")
# Webhooks (medialib/webhooks.py): a notification URL must resolve to public addresses only, unless its host or
# its address is listed here (names or networks, separated by commas or spaces: "hooks.internal, 10.1.0.0/16,
# 127.0.0.1"), for a receiver on the same machine or network (check medialib.E016). One attempt lasts at most
# the timeout (connecting, sending and reading the answer, of which 1 KB at most is read).
MEDIALIB_WEBHOOK_ALLOWED_HOSTS = os.environ.get("MEDIALIB_WEBHOOK_ALLOWED_HOSTS", "").replace(",", " ").split()
MEDIALIB_WEBHOOK_TIMEOUT_SECONDS = env_seconds("MEDIALIB_WEBHOOK_TIMEOUT_SECONDS", 5.0)
# The waits before each retry of a failed delivery (seconds, separated by commas); one attempt more than there are
# waits, then it is given up: 7 attempts over about 7 hours by default (check medialib.E017).
MEDIALIB_WEBHOOK_RETRY_DELAYS = os.environ.get("MEDIALIB_WEBHOOK_RETRY_DELAYS", "10,30,120,600,3600,21600")

# --- Cache: shared by every process. A folder under var/ on one machine; Redis (CACHE_URL=redis://...) when
# several machines serve the site, since a file cache is only shared by the processes of one machine.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL or empty (a file cache under var/), not {CACHE_URL!r}")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}

# --- API rate limits (medialib/api/ratelimit.py), counted in the cache above in fixed windows.
# Refused credentials (unknown key, bad signature or secret) per client IP: past the limit, every request
# from that address is refused with 420 until the window ends, so keys and secrets cannot be guessed.
MEDIALIB_API_AUTH_FAILURE_LIMIT = env_int("MEDIALIB_API_AUTH_FAILURE_LIMIT", 20)
MEDIALIB_API_AUTH_FAILURE_WINDOW_SECONDS = env_int("MEDIALIB_API_AUTH_FAILURE_WINDOW_SECONDS", 300)
# Authenticated requests per key (only correctly signed ones count: nobody else can use up a key's quota).
MEDIALIB_API_KEY_RATE_LIMIT = env_int("MEDIALIB_API_KEY_RATE_LIMIT", 5000)
MEDIALIB_API_KEY_RATE_WINDOW_SECONDS = env_int("MEDIALIB_API_KEY_RATE_WINDOW_SECONDS", 3600)

# --- Tagging add-ons: which detector answers each add-on, and how the worker runs them.
TAGGING_BACKEND = os.environ.get("TAGGING_BACKEND", "local")
# Per add-on overrides, e.g. TAGGING_BACKEND_AWS_REK_FACE=local with TAGGING_BACKEND=rekognition.
TAGGING_ADDON_BACKENDS = {
    addon: os.environ[f"TAGGING_BACKEND_{addon.upper()}"]
    for addon in ("aws_rek_tagging", "aws_rek_face")
    if os.environ.get(f"TAGGING_BACKEND_{addon.upper()}")
}
TAGGING_BACKENDS = {
    "local": {"BACKEND": "tagging.backends.local.LocalBackend", "OPTIONS": {
        # ONNX Runtime threads per worker process (Lite0): 1, as the worker's processes (--concurrency=2 on the
        # Procfile's 2 cores) are the parallelism; 2 threads took 16 ms of CPU per photo for 8 ms less wall, and
        # spin on a core the other process needs (bench/analysis.py --faces-sets, BENCHMARKS.md).
        "threads": env_int("TAGGING_LOCAL_THREADS", 1),
        # yunet (default), hog or cnn (README, "Faces"); the minimum score: YuNet 0-100 (70), dlib's SVM margin (0.0).
        "face_detector": os.environ.get("TAGGING_LOCAL_FACE_DETECTOR", "yunet"),
        "face_landmarks": env_int("TAGGING_LOCAL_FACE_LANDMARKS", 5),
        "face_min_score": float(os.environ["TAGGING_LOCAL_FACE_MIN_SCORE"]) if os.environ.get("TAGGING_LOCAL_FACE_MIN_SCORE") else None,
    }},
    # Amazon Rekognition: credentials, and the region unless given here, from boto3's usual chain (README).
    "rekognition": {"BACKEND": "tagging.backends.rekognition.RekognitionBackend", "OPTIONS": {
        "region_name": os.environ.get("TAGGING_REKOGNITION_REGION") or AWS_REGION,
        "endpoint_url": os.environ.get("TAGGING_REKOGNITION_ENDPOINT_URL") or None,
        # A percentage, as Rekognition's own MinConfidence (55 is its default).
        "min_confidence": float(os.environ.get("TAGGING_REKOGNITION_MIN_CONFIDENCE") or 55),
        "max_labels": env_int("TAGGING_REKOGNITION_MAX_LABELS", 20),
        # auto: originals in an AWS S3 bucket of the same region are read by Rekognition itself; always; never.
        "s3_object": os.environ.get("TAGGING_REKOGNITION_S3_OBJECT") or "auto",
    }},
    # Tests only: TAGGING_FAKE_DELAY makes each detection take that long (to stop a worker mid-task).
    "fake": {"BACKEND": "tagging.backends.fake.FakeBackend", "OPTIONS": {
        "delay": float(os.environ.get("TAGGING_FAKE_DELAY") or 0),
    }},
}
# 30: two detectors and WordNet parents give a busy photo 25-30 labels worth keeping (a 2x2 mosaic of everyday
# photos: 22 at >= 0.5); at 20, parents like Dishware crowded out a detected Wine Glass.
TAGGING_MAX_LABELS = env_int("TAGGING_MAX_LABELS", 30)
TAGGING_MIN_LABEL_CONFIDENCE = float(os.environ.get("TAGGING_MIN_LABEL_CONFIDENCE") or 0.05)
# A detector that runs longer than this is stopped and its result marked failed.
# 120 s is about 100 times what one 12 MP photo takes on the local backend, and 20 times Rekognition's slowest
# answers measured here; a lower limit makes a killed worker's task come back sooner (see below).
TAGGING_TIME_LIMIT_SECONDS = env_int("TAGGING_TIME_LIMIT_SECONDS", 120)
# The longest a task waits for a retry (the tasks' backoff caps; medialib.queueing's database retries too).
TASK_RETRY_MAX_SECONDS = 150
# The longest any task runs (the analysis task's hard limit, 30 s after the soft one) or waits for its retry:
# Redis gives an unacknowledged message to another worker after this plus a margin, so a killed worker's task
# comes back in minutes (not in Redis's default hour) and no running or waiting task is ever handed out twice.
TASK_LONGEST_SECONDS = max(TAGGING_TIME_LIMIT_SECONDS + 30, TASK_RETRY_MAX_SECONDS)
BROKER_VISIBILITY_TIMEOUT_SECONDS = TASK_LONGEST_SECONDS + 60
# The sweeps (every minute) queue again what has waited longer than this since it was queued: by then Redis
# has given back what a dead worker held, so what still waits was lost. Work whose enqueue failed is marked
# and queued at the next sweep, whatever its age.
TAGGING_SWEEP_AFTER_SECONDS = env_int("TAGGING_SWEEP_AFTER_SECONDS", BROKER_VISIBILITY_TIMEOUT_SECONDS)
MEDIALIB_RENDITIONS_SWEEP_AFTER_SECONDS = env_int(
    "MEDIALIB_RENDITIONS_SWEEP_AFTER_SECONDS", BROKER_VISIBILITY_TIMEOUT_SECONDS
)
TAGGING_MAX_ATTEMPTS = env_int("TAGGING_MAX_ATTEMPTS", 5)
# Two faces whose 128-d embeddings are closer than this are the same person (dlib's usual 0.6; the
# margin is thin: same person 0.03-0.35, different people 0.64-0.85 on the test photos).
TAGGING_FACE_MATCH_DISTANCE = float(os.environ.get("TAGGING_FACE_MATCH_DISTANCE") or 0.6)
# The people page's groups of look-alike unnamed faces are made by the worker (tagging.services.face_groups): each
# owner's newest WINDOW unnamed faces are grouped; the periodic regrouping runs every SECONDS, BATCH owners a run.
TAGGING_FACE_GROUPS_WINDOW = env_int("TAGGING_FACE_GROUPS_WINDOW", 500)
TAGGING_FACE_GROUPS_BATCH = env_int("TAGGING_FACE_GROUPS_BATCH", 20)
TAGGING_FACE_GROUPS_SECONDS = env_int("TAGGING_FACE_GROUPS_SECONDS", 300)
# The people page's sections stay in the cache at most this long (tagging.people_cache: every change made through
# Django moves them on at once; this bounds what it cannot see).
TAGGING_PEOPLE_PAGE_CACHE_SECONDS = env_int("TAGGING_PEOPLE_PAGE_CACHE_SECONDS", 600)

# --- Celery: kombu's filesystem transport under var/ unless CELERY_BROKER_URL names a server.
# Redis (any broker but the filesystem). Publishing (an upload's enqueue) gives up fast when the broker is
# down: one retry, at once, within a 2 s connect; kombu's defaults cost each file about a second
# (medialib.queueing.task_enqueue).
REDIS_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT_SECONDS,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
    "socket_connect_timeout": 2,
}
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
CELERY_BROKER_FOLDER = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "control"):
        (CELERY_BROKER_FOLDER / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # One folder in and out: producers and the worker on this machine share it.
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
        # Kombu looks for new message files this often (default 1 s): it bounds the wait after an upload.
        "polling_interval": 0.1,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = dict(REDIS_TRANSPORT_OPTIONS)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Thumbnails never wait behind a slow detector.
CELERY_TASK_ROUTES = {
    # The sweeps never wait behind a queue they are sweeping (exact names are matched before the patterns).
    "medialib.tasks.renditions_sweep": {"queue": "default"},
    "tagging.tasks.analysis_sweep": {"queue": "default"},
    # Webhooks on the lightly used default queue: a slow receiver (at most MEDIALIB_WEBHOOK_TIMEOUT_SECONDS per
    # attempt) never delays renditions or analysis.
    "medialib.tasks.webhook_deliver": {"queue": "default"},
    "medialib.tasks.webhooks_sweep": {"queue": "default"},
    # Grouping faces runs no detector: it never waits behind one.
    "tagging.tasks.face_groups_refresh": {"queue": "default"},
    "tagging.tasks.face_groups_sweep": {"queue": "default"},
    "medialib.tasks.*": {"queue": "renditions"},
    "tagging.tasks.*": {"queue": "analysis"},
}
CELERY_WORKER_QUEUES = "default,renditions,analysis"
# The worker's pool processes (the analysis, the renditions) run this much nicer than the web server (os.nice,
# medialib/celery.py): on one machine a page or an API answer gets the CPU before a detector does. 0 turns it off.
MEDIALIB_WORKER_NICENESS = env_int("MEDIALIB_WORKER_NICENESS", 10)
if not 0 <= MEDIALIB_WORKER_NICENESS <= 19:
    raise ImproperlyConfigured(f"MEDIALIB_WORKER_NICENESS must be 0 to 19, not {MEDIALIB_WORKER_NICENESS}")
CELERY_BEAT_SCHEDULE = {
    # Lost work is queued again within a minute of being found (a sweep is one indexed query when nothing is lost);
    # a sweep not run within its minute is dropped, not piled up behind a stopped worker.
    "analysis-sweep": {"task": "tagging.tasks.analysis_sweep", "schedule": 60.0, "options": {"expires": 60}},
    "renditions-sweep": {"task": "medialib.tasks.renditions_sweep", "schedule": 60.0, "options": {"expires": 60}},
    # Webhooks whose next attempt is due (a retry past its countdown, a lost message, a broker that was down).
    "webhooks-sweep": {"task": "medialib.tasks.webhooks_sweep", "schedule": 60.0, "options": {"expires": 60}},
    # Search: tag usage counts in one batch statement, and the popular tags' co-occurrence table.
    "search-tag-usage": {"task": "search.tasks.tag_usage_refresh", "schedule": 300.0},
    "search-refresh": {"task": "search.tasks.search_refresh", "schedule": 3600.0},
    "face-groups-sweep": {"task": "tagging.tasks.face_groups_sweep", "schedule": float(TAGGING_FACE_GROUPS_SECONDS),
                          "options": {"expires": TAGGING_FACE_GROUPS_SECONDS}},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# The pages load their scripts, style sheets and images from this site only and run no inline script; inline
# style attributes are allowed (the face boxes are placed by them), inline <style> blocks are not.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
if MEDIALIB_PROXY_COUNT > 0:
    # The proxy (nginx in docker-compose.yml) says whether the client used HTTPS; never a client itself.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # HTTPS only: plain HTTP is redirected, and browsers are told (HSTS, sent on HTTPS answers only) to use
    # nothing else for a year.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # security.W021 asks for the preload directive; with it anyone may submit the domain to the browsers'
        # preload lists, which is hard to undo: the domain's owner decides, by SECURE_HSTS_PRELOAD=true.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
