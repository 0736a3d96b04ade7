"""Pure helpers for the security settings: the cache behind rate limits, read from `CACHE_URL`.

Kept free of Django imports beyond exceptions, because settings.py calls it
before the apps are loaded.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

DATABASE_CACHE_TABLE = "cache_table"


def cache_from_url(url: str | None) -> dict:
    """One `CACHES` entry from a URL.

    - empty: the database cache (table `cache_table`, created by a migration and by
      `createcachetable`), shared by every process that shares the database;
    - `redis://host:6379/0` or `rediss://...`: Django's Redis cache;
    - `db://table_name`: the database cache in another table;
    - `locmem://`: per-process memory (development only: not shared between workers).
    """
    if not url:
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": DATABASE_CACHE_TABLE}
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss"):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if scheme == "db":
        table = urlsplit(url).netloc or DATABASE_CACHE_TABLE
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": table}
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": urlsplit(url).netloc}
    raise ImproperlyConfigured(f"CACHE_URL={url!r}: use redis://, rediss://, db:// or locmem://.")
