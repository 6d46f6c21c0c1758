import pytest
from django.core.management import call_command


@pytest.fixture
def starting_data(db):
    """The project's starting data (fixtures/), loaded the way `make run` loads it."""
    call_command("load_profiles", verbosity=0)
