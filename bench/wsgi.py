"""What the benchmark's gunicorn serves: the project, and the floor under `/__floor__/` in the same workers."""

from bench.floor import application as floor_application
from config.wsgi import application as django_application

FLOOR_PREFIX = "/__floor__/"


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith(FLOOR_PREFIX):
        return floor_application(environ, start_response)
    return django_application(environ, start_response)
