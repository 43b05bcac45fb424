"""Delete an embedding space that is not active: its vectors, its index, its record."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from media_index.errors import ApplicationError


class Command(BaseCommand):
    help = "Drop a space that is not active (its vectors and HNSW index). The items themselves stay."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("space", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        from media_index.models import EmbeddingSpace
        from media_index.services.spaces import space_drop

        space = EmbeddingSpace.objects.filter(pk=options["space"]).first()
        if space is None:
            raise CommandError(f"There is no space {options['space']}.")
        try:
            deleted = space_drop(space=space)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(self.style.SUCCESS(f"Dropped space {options['space']} and its {deleted} vector(s)."))
