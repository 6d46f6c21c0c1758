"""
Imports run by a worker, not in the request that asked for them (Django's Tasks API
through the django-tasks backport; settings.TASKS says which backend runs them).
"""

from django.contrib.auth import get_user_model
from django_tasks import task

from .epoch import LayoutError, execute
from .models import ImportRun


@task()
def run_import(run_id):
    """Import the file an editor uploaded (stored on the run); the run records the outcome."""
    run = ImportRun.objects.get(pk=run_id)
    user = get_user_model().objects.filter(pk=run.created_by_id).first()

    def reading(done):
        # Committed at once (reading happens outside the import's transaction): the run's
        # page shows how far the worker has read.
        if done % 250 == 0:
            ImportRun.objects.filter(pk=run.pk).update(rows_done=done)

    try:
        execute(run, bytes(run.data), user=user, read_progress=reading)
    except LayoutError:
        pass  # recorded on the run, for the editor to read
    return run.status
