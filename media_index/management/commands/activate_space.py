"""Make an embedding space the one searched, atomically."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from media_index.errors import ApplicationError


class Command(BaseCommand):
    help = "Activate a space once it holds every item (or with --force). Queries use its model from then on."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("space", type=int)
        parser.add_argument("--force", action="store_true", help="activate even if items are missing from it")

    def handle(self, *args: Any, **options: Any) -> None:
        from media_index.models import EmbeddingSpace
        from media_index.services.spaces import space_activate_checked

        space = EmbeddingSpace.objects.filter(pk=options["space"]).first()
        if space is None:
            raise CommandError(f"There is no space {options['space']}.")
        try:
            space = space_activate_checked(space=space, force=options["force"])
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(self.style.SUCCESS(f"{space} is now the active {space.get_modality_display()} space."))
