"""
WSGI config for labsite project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'labsite.settings')

application = get_wsgi_application()


def warm_up():
    """
    Do once, before gunicorn forks its workers, what each worker's first requests
    would otherwise do for itself: build the URL resolver and compile the site's own
    templates (the cached loader keeps them, and forked workers inherit the memory).
    Nothing here opens a database or cache connection, which a fork must not share.
    """
    from pathlib import Path

    from django.template import engines
    from django.urls import get_resolver

    get_resolver().resolve("/")
    for engine in engines.all():
        for directory in map(Path, engine.dirs):  # the site's own: jinja2/ and templates/
            for path in directory.rglob("*.html"):
                engine.get_template(str(path.relative_to(directory)))
