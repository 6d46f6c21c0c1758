"""
What imports of outside datasets leave behind for editors (see imports/epoch.py).

- ``LabAlias``: a name a dataset uses for one of our labs ("Shanghai AI Lab" → Shanghai AI
  Laboratory), kept by editors; an import creates one for each name it had to guess.
- ``ImportRun``: one run of an import (command line or admin upload): its file, progress,
  counts and the rows it reported, with their line and column.
- ``ImportedRecord``: the values a dataset row last gave a lab or release. A later import
  compares against it, so importing the same file twice changes nothing and a newer file
  only proposes what changed in it.
- ``ProposedChange``: a value of the dataset that disagrees with ours. It never replaces
  the published value by itself: a Publisher keeps ours or takes theirs.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

EPOCH = "epoch-ai-models"
DATASETS = [(EPOCH, "Epoch AI, Data on AI Models")]


class LabAliasQuerySet(models.QuerySet):
    def to_review(self):
        return self.filter(confirmed=False)

    def get_by_natural_key(self, dataset, name):
        return self.get(dataset=dataset, name__iexact=name)


class LabAlias(models.Model):
    """A name a dataset gives one of our labs: rows naming it are imported into that lab."""

    dataset = models.CharField(
        "dataset", max_length=40, choices=DATASETS, default=EPOCH, help_text="The dataset that uses this name."
    )
    name = models.CharField(
        "name in the dataset", max_length=200,
        help_text="The organisation exactly as the dataset writes it: 'Shanghai AI Lab'. Case does not matter.",
    )
    lab = models.ForeignKey(
        "profiles.Lab", verbose_name="lab", on_delete=models.CASCADE, related_name="aliases",
        help_text="Our lab that the name means. Change it to map the name to another lab: the next import follows.",
    )
    confirmed = models.BooleanField(
        "confirmed", default=False,
        help_text="An editor checked this mapping. Unconfirmed ones were guessed by an import (same name, or a new lab).",
    )
    created = models.DateTimeField("created", default=timezone.now, editable=False)

    objects = LabAliasQuerySet.as_manager()

    class Meta:
        ordering = [Lower("name")]
        verbose_name = "lab alias"
        verbose_name_plural = "lab aliases"
        constraints = [
            models.UniqueConstraint(
                "dataset", Lower("name"), name="labalias_unique_name",
                violation_error_message="This name already maps to a lab.",
            ),
        ]

    def __str__(self):
        return f"{self.name} → {self.lab}"

    def natural_key(self):
        return (self.dataset, self.name)

    def clean(self):
        self.name = " ".join(self.name.split())
        if not self.name:
            raise ValidationError({"name": "The name the dataset uses is required."})


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ImportRunQuerySet(models.QuerySet):
    def recent(self):
        return self.order_by("-started")


class ImportRun(models.Model):
    """One run of an import: what it read, how far it is, what it did and what it refused."""

    dataset = models.CharField("dataset", max_length=40, choices=DATASETS, default=EPOCH)
    file_name = models.CharField("file", max_length=300, help_text="The file or address imported.")
    # The uploaded file itself, in the database rather than in MEDIA_ROOT: the worker that
    # runs the import may be another process or machine, and the file is a few MB.
    data = models.BinaryField("uploaded file", blank=True, editable=False)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    layout = models.CharField("column layout", max_length=20, blank=True)
    mode = models.CharField(
        "mode", max_length=12, default="review",
        choices=[("review", "Changes to published profiles wait for review"), ("starting", "Starting data, published")],
    )
    status = models.CharField("status", max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="started by", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    started = models.DateTimeField("started", default=timezone.now)
    finished = models.DateTimeField("finished", null=True, blank=True)
    rows_total = models.PositiveIntegerField("rows in the file", default=0)
    rows_done = models.PositiveIntegerField("rows read", default=0)
    counts = models.JSONField("counts", default=dict, blank=True, help_text="What the run did, by kind.")
    problems = models.JSONField(
        "rows reported", default=list, blank=True,
        help_text="Rows skipped, each with its line, column and why.",
    )
    new_names = models.JSONField(
        "names new to us", default=list, blank=True,
        help_text="Organisation names no lab or alias matched: each became a new lab, for an editor to map or accept.",
    )
    error = models.TextField("error", blank=True, help_text="Why the run failed (nothing was kept).")

    objects = ImportRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started"]
        verbose_name = "import run"

    def __str__(self):
        return f"{self.get_dataset_display()} from {self.file_name} ({self.started:%Y-%m-%d %H:%M})"

    def get_absolute_url(self):
        return reverse("admin:imports_importrun_change", args=[self.pk])

    @property
    def percent(self):
        return round(100 * self.rows_done / self.rows_total) if self.rows_total else 0


class RecordKind(models.TextChoices):
    MODEL = "model", "Model"
    ORGANIZATION = "organization", "Organisation"


class ImportedRecord(models.Model):
    """
    The values one dataset row last gave one of our rows (a release, or a lab for an
    organisation). ``release`` is empty while the release it made waits in a lab's draft.
    """

    dataset = models.CharField("dataset", max_length=40, choices=DATASETS, default=EPOCH)
    kind = models.CharField("kind", max_length=12, choices=RecordKind.choices, default=RecordKind.MODEL)
    key = models.CharField("key", max_length=300, help_text="The row's identity in the dataset: the model's or organisation's name.")
    release = models.OneToOneField(
        "profiles.Release", verbose_name="release", null=True, blank=True, on_delete=models.CASCADE,
        related_name="imported",
    )
    lab = models.ForeignKey(
        "profiles.Lab", verbose_name="lab", null=True, blank=True, on_delete=models.CASCADE, related_name="imported",
    )
    values = models.JSONField("values imported", default=dict, help_text="Field → value, as last imported.")
    last_modified = models.DateTimeField("last modified in the dataset", null=True, blank=True)
    line = models.PositiveIntegerField("line", null=True, blank=True, help_text="Its line in the file last imported.")
    run = models.ForeignKey(ImportRun, verbose_name="last import", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["dataset", "key"]
        verbose_name = "imported record"
        constraints = [
            models.UniqueConstraint(fields=["dataset", "kind", "key"], name="importedrecord_unique_key"),
        ]

    def __str__(self):
        return f"{self.key} ({self.get_dataset_display()})"


class ProposedChangeStatus(models.TextChoices):
    OPEN = "open", "Waiting for a Publisher"
    KEPT = "kept", "Kept ours"
    TAKEN = "taken", "Took theirs"


class ProposedChangeQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=ProposedChangeStatus.OPEN)

    def for_dashboard(self):
        return self.open().select_related("release__lab", "lab", "their_source").order_by("-created", "pk")


class ProposedChange(models.Model):
    """A dataset value that disagrees with our published one, waiting for a Publisher to choose."""

    run = models.ForeignKey(ImportRun, verbose_name="import", null=True, blank=True, on_delete=models.SET_NULL, related_name="proposed_changes")
    dataset = models.CharField("dataset", max_length=40, choices=DATASETS, default=EPOCH)
    release = models.ForeignKey(
        "profiles.Release", verbose_name="release", null=True, blank=True, on_delete=models.CASCADE, related_name="proposed_changes",
    )
    lab = models.ForeignKey(
        "profiles.Lab", verbose_name="lab", null=True, blank=True, on_delete=models.CASCADE, related_name="proposed_changes",
    )
    field = models.CharField("field", max_length=40, help_text="The field the two disagree on.")
    ours = models.JSONField("our value", null=True, blank=True)
    theirs = models.JSONField("their value", null=True, blank=True)
    our_sources = models.TextField("our sources", blank=True, help_text="What our value is cited to.")
    their_source = models.ForeignKey(
        "profiles.Source", verbose_name="their source", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The dataset row's primary source (its Link), if it gives one.",
    )
    their_row = models.CharField("their row", max_length=300, blank=True, help_text="The dataset row: model name, line, last modified.")
    status = models.CharField("status", max_length=6, choices=ProposedChangeStatus.choices, default=ProposedChangeStatus.OPEN)
    created = models.DateTimeField("proposed", default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="decided by", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    decided_at = models.DateTimeField("decided at", null=True, blank=True)

    objects = ProposedChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "pk"]
        verbose_name = "proposed change"
        permissions = [("decide_proposedchange", "Can keep or take a proposed change from an import")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lab__isnull=True) ^ models.Q(release__isnull=True), name="proposedchange_one_target",
                violation_error_message="A proposed change is to a lab or a release.",
            ),
            models.UniqueConstraint(
                fields=["release", "field"], condition=models.Q(status="open", release__isnull=False),
                name="proposedchange_one_open_per_release_field",
            ),
            models.UniqueConstraint(
                fields=["lab", "field"], condition=models.Q(status="open", lab__isnull=False),
                name="proposedchange_one_open_per_lab_field",
            ),
        ]

    def __str__(self):
        return f"{self.target}: {self.field}"

    @property
    def target(self):
        return self.release or self.lab
