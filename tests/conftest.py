import pytest
from django.core.cache import cache
from django.core.management import call_command


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: cached pages never leak from one test into another."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def starting_data(db):
    """The project's starting data (fixtures/), loaded the way `make run` loads it."""
    call_command("load_profiles", verbosity=0)


@pytest.fixture(autouse=True)
def tasks_run_at_once(settings):
    """Background tasks run in the test's own process, when enqueued (no worker to start)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
