"""WSGI entry point (gunicorn in docker/, ``runserver`` under ``make run``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "searchsite.settings.production")

application = get_wsgi_application()
