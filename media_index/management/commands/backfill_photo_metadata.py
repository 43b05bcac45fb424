"""Record capture dates, cameras and location flags for pictures uploaded before they were read."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from media_index.services.items import items_backfill_photo_metadata


class Command(BaseCommand):
    help = "Read EXIF capture date, camera and location flag of stored pictures that have none recorded yet."

    def handle(self, *args: Any, **options: Any) -> None:
        found = items_backfill_photo_metadata()
        self.stdout.write(self.style.SUCCESS(f"{found} picture(s) got a capture date or camera."))
