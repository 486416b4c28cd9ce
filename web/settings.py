"""Django settings built from pvledger's Config: one function, no settings module on disk."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from web.secret import secret_key

if TYPE_CHECKING:
    from core.config import Config

HERE = Path(__file__).resolve().parent

#: config's site.language -> Django's language code
LANGUAGE_CODES = {"zh": "zh-hans", "en": "en"}
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "web.middleware.site_language",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "web.middleware.force_password_change",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last, as django-axes asks
    "axes.middleware.AxesMiddleware",
]


def db_path(config: Config) -> Path:
    """The web database file (web.db_path, relative to the config's folder)."""
    return config.resolve(config.web.db_path)


def build(config: Config) -> dict[str, Any]:
    """Every Django setting for this config (pure but for the secret key file)."""
    web = config.web
    db = db_path(config)
    return {
        "DEBUG": False,
        "SECRET_KEY": secret_key(db.with_name(db.name + ".secret"), web.secret_key_env),
        "ALLOWED_HOSTS": list(web.allowed_hosts),
        "ROOT_URLCONF": "web.urls",
        "WSGI_APPLICATION": None,
        "INSTALLED_APPS": [
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "axes",
            "web.apps.WebConfig",
        ],
        "MIDDLEWARE": MIDDLEWARE,
        "DATABASES": {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(db),
                # IMMEDIATE: a transaction takes the write lock at its start, so two
                # processes appending to the audit chain wait instead of racing
                "OPTIONS": {
                    "transaction_mode": "IMMEDIATE",
                    "timeout": 30,
                    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                },
            }
        },
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "AUTH_USER_MODEL": "web.User",
        "AUTHENTICATION_BACKENDS": [
            "axes.backends.AxesStandaloneBackend",
            "django.contrib.auth.backends.ModelBackend",
        ],
        "PASSWORD_HASHERS": [
            "django.contrib.auth.hashers.Argon2PasswordHasher",
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        ],
        "AUTH_PASSWORD_VALIDATORS": [
            {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
            {
                "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
                "OPTIONS": {"min_length": 10},
            },
            {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
            {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
        ],
        "LOGIN_URL": "login",
        "LOGIN_REDIRECT_URL": "home",
        "LOGOUT_REDIRECT_URL": "login",
        "SESSION_COOKIE_AGE": int(web.session_hours * 3600),
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
        "SESSION_COOKIE_SECURE": web.behind_tls,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "pvledger_session",
        "CSRF_COOKIE_SECURE": web.behind_tls,
        "CSRF_COOKIE_NAME": "pvledger_csrf",
        "LANGUAGE_COOKIE_NAME": "pvledger_language",
        "LANGUAGE_COOKIE_SECURE": web.behind_tls,
        "LANGUAGE_COOKIE_AGE": 365 * 24 * 3600,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "LANGUAGE_CODE": LANGUAGE_CODES[config.site.language],
        "LANGUAGES": LANGUAGES,
        "LOCALE_PATHS": [str(HERE / "locale")],
        "USE_I18N": True,
        "USE_TZ": True,
        "TIME_ZONE": config.site.timezone,
        "STATIC_URL": "/static/",
        "STATIC_ROOT": None,
        # served from the app's static folder as it is: no collectstatic step to forget
        "WHITENOISE_USE_FINDERS": True,
        "WHITENOISE_AUTOREFRESH": False,
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [],
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.template.context_processors.i18n",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                        "web.nav.context",
                    ]
                },
            }
        ],
        "AXES_FAILURE_LIMIT": web.lockout_failures,
        "AXES_COOLOFF_TIME": web.lockout_minutes / 60,
        "AXES_LOCKOUT_PARAMETERS": [["username", "ip_address"]],
        "AXES_RESET_ON_SUCCESS": True,
        "AXES_LOCKOUT_TEMPLATE": "accounts/locked.html",
        "AXES_CLIENT_IP_CALLABLE": "web.client.address",
        "AXES_VERBOSE": False,
        # waitress (web/server.py) puts the proxy's X-Forwarded-For into REMOTE_ADDR
        # when behind_tls, and clears it otherwise: REMOTE_ADDR is the client here
        "AXES_IPWARE_META_PRECEDENCE_ORDER": ["REMOTE_ADDR"],
    }
