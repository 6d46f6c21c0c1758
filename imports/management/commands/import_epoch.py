"""
Import Epoch AI's dataset of AI models (CC BY 4.0) into labs and releases.

    python manage.py import_epoch                     # the snapshot in fixtures/datasets/
    python manage.py import_epoch models.csv          # a file
    python manage.py import_epoch https://epoch.ai/data/all_ai_models.csv
    python manage.py import_epoch --starting-data --if-empty    # `make run`: published, once

What an import does with each row, and why, is in imports/epoch.py.
"""

import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from imports.epoch import LayoutError, execute
from imports.models import ImportRun, ImportStatus
from profiles.management.commands.load_profiles import display

SNAPSHOT = Path(settings.BASE_DIR) / "fixtures" / "datasets" / "epoch-ai-models-2025-03-11.csv"


class Command(BaseCommand):
    help = "Import Epoch AI's models (a CSV file or address; default: the snapshot in fixtures/datasets/)."

    def add_arguments(self, parser):
        parser.add_argument("source", nargs="?", default=str(SNAPSHOT), help="A CSV file or an http(s) address.")
        parser.add_argument(
            "--starting-data", action="store_true",
            help="Part of the starting set: publish what is added, dated by each row's 'Last modified'.",
        )
        parser.add_argument(
            "--if-empty", action="store_true",
            help="Do nothing if a starting-data import has already succeeded (for `make run`).",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, source, starting_data, if_empty, no_progress, verbosity, **options):
        mode = "starting" if starting_data else "review"
        if if_empty and ImportRun.objects.filter(mode="starting", status=ImportStatus.SUCCEEDED).exists():
            if verbosity >= 1:
                self.stdout.write("Epoch AI's models were imported already: nothing to do (--if-empty).")
            return
        started = time.monotonic()
        data = self.read(source)
        run = ImportRun.objects.create(file_name=source if "://" in source else display(source), mode=mode)
        show = verbosity >= 1 and not no_progress
        with tqdm(desc="Importing", unit=" models", disable=not show, file=self.stderr._out) as bar:

            def progress(done, total):
                bar.total = total
                bar.update(done - bar.n)

            try:
                execute(run, data, starting=starting_data, write_progress=progress)
            except LayoutError as error:
                raise CommandError(f"Nothing was imported. {error}") from error
        if verbosity >= 1:
            self.report(run, time.monotonic() - started, verbosity)

    def read(self, source):
        if source.startswith(("http://", "https://")):
            try:
                with urllib.request.urlopen(source, timeout=60) as response:  # noqa: S310 (http(s) only)
                    return response.read()
            except OSError as error:
                raise CommandError(f"{source}: cannot be fetched ({error}).") from error
        try:
            return Path(source).read_bytes()
        except OSError as error:
            raise CommandError(f"{source}: cannot be read ({error.strerror}).") from error

    def report(self, run, seconds, verbosity):
        counts = ", ".join(f"{count} {what}" for what, count in run.counts.items() if count)
        self.stdout.write(
            f"Imported {run.rows_total} rows ({run.layout} layout) in {seconds:.1f} s: {counts or 'nothing changed'}."
        )
        for problem in run.problems[: None if verbosity >= 2 else 20]:
            where = f"line {problem['line']}" + (f", column {problem['column']!r}" if problem["column"] else "")
            self.stdout.write(f"  skipped {where}{' (' + problem['model'] + ')' if problem['model'] else ''}: {problem['message']}")
        if len(run.problems) > 20 and verbosity < 2:
            self.stdout.write(f"  … and {len(run.problems) - 20} more (-v 2 lists them all; the admin shows the run).")
        if run.new_names:
            self.stdout.write(
                f"{len(run.new_names)} organisation names were new to us and became labs; map or accept them "
                "under Imports › Lab aliases."
            )

