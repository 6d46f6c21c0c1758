"""Run a digest round now (what the worker does every FOLLOWS_ROUND_SECONDS), or start the worker's rounds."""

from django.core.management.base import BaseCommand

from follows.tasks import round_then_schedule, schedule_next_round


class Command(BaseCommand):
    help = "Send every due follower its digest now, in this process (--schedule: only make sure the worker's rounds are scheduled)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--schedule", action="store_true",
            help="Do not send: schedule the worker's next round unless one is pending (make run does this).",
        )

    def handle(self, *args, schedule=False, **options):
        if schedule:
            when = schedule_next_round()
            self.stdout.write(f"Next digest round at {when:%H:%M:%S}." if when else "A digest round is already scheduled (or rounds are off).")
            return
        report = round_then_schedule()
        self.stdout.write(str(report))
