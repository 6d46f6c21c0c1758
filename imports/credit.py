"""
How the site credits the datasets it imports, said once: the credit line pages show
(``jinja2/profiles/_credit.html``), its links, and the ``provenance`` object of the
API's imported releases.

Epoch AI publishes "Data on AI Models" under CC BY 4.0, which asks for the source, a link
to it and the licence wherever the data is shown: every page and API response that shows
an imported release (one with an ``ImportedRecord``) carries them.
"""

import typing

from .models import DATASETS, EPOCH


class Credit(typing.NamedTuple):
    dataset: str  # the dataset's name, as the API's provenance gives it
    text: str  # the credit line, linked to ``url``
    url: str  # where the dataset is published
    licence: str
    licence_url: str


CREDITS = {
    EPOCH: Credit(
        dataset=dict(DATASETS)[EPOCH],
        text="Data on AI models by Epoch AI",
        url="https://epoch.ai/data",
        licence="CC BY 4.0",
        licence_url="https://creativecommons.org/licenses/by/4.0/",
    ),
}


def credit_for(dataset):
    """The credit owed to ``dataset`` (a key of ``imports.models.DATASETS``), or None for none."""
    return CREDITS.get(dataset) if dataset else None


def imported_dataset(release):
    """
    The dataset ``release``'s values were imported from, or None. Reads the imported record
    ``with_related()`` (or a lab's ``with_profile()``, its releases and co-developed ones)
    joined, so it costs no query then.
    """
    record = getattr(release, "imported", None)  # None when the release has no record
    return record.dataset if record is not None else None


def credits_for(*groups):
    """The credits owed for showing the releases in ``groups`` (releases or iterables of them), each once."""
    credits = []
    for group in groups:
        releases = [group] if hasattr(group, "get_absolute_url") else group or ()
        for release in releases:
            credit = credit_for(imported_dataset(release))
            if credit is not None and credit not in credits:
                credits.append(credit)
    return credits


def provenance(dataset, last_modified):
    """
    The API's ``provenance`` of an imported release: where its values come from, under which
    licence, and when the dataset last changed its row (``last_modified`` as given: the
    serializer writes it). None for a release with no import.
    """
    credit = credit_for(dataset)
    if credit is None:
        return None
    return {"dataset": credit.dataset, "licence": credit.licence, "url": credit.url, "last_modified": last_modified}
