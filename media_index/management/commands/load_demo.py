"""Fill the site with the public demo collection (generated pictures and notes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from media_index.services.demo import DEMO_USERNAME, demo_collection_load


class Command(BaseCommand):
    help = "Create a few hundred generated pictures and some dozens of notes (English and Chinese), public."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--pictures", type=int, default=300)
        parser.add_argument("--notes", type=int, default=60)
        parser.add_argument("--camera-names", action="store_true",
                            help="name pictures like a phone's photos (IMG_4700.png), no titles: for evaluating meaning alone")  # fmt: skip
        parser.add_argument("--sync", action="store_true",
                            help="embed them in this process instead of leaving them to the workers")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        report = demo_collection_load(pictures=options["pictures"], notes=options["notes"], index_now=options["sync"],
                                      camera_names=options["camera_names"])  # fmt: skip
        where = "indexed now" if options["sync"] else "queued for the workers"
        self.stdout.write(self.style.SUCCESS(
            f"Demo collection (owner '{DEMO_USERNAME}'): {report.created} new items {where}, "
            f"{report.existing} already present."
        ))  # fmt: skip
