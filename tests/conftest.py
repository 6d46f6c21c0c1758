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
