"""Re-index every item into a new embedding space in the background (search keeps the active one)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from media_index.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Create (or resume) the embedding space of another model and embed every item into it "
        "through the Celery workers, in resumable batches. New uploads go into it too. Search keeps "
        "using the active space until 'activate_space'. Shows progress until done unless --no-wait."
    )

    def add_arguments(self, parser: Any) -> None:
        from media_index.embedding.registry import BACKENDS

        parser.add_argument("--backend", default=None, choices=list(BACKENDS),
                            help="embedding backend (default: EMBEDDING_BACKEND)")  # fmt: skip
        parser.add_argument("--model", default="", help="architecture or folder (default: the backend's setting)")
        parser.add_argument("--pretrained", default="",
                            help="open_clip tag or checkpoint path (default: the backend's setting)")  # fmt: skip
        parser.add_argument("--space", type=int, default=None, help="resume an existing space instead")
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--no-wait", action="store_true", help="return once the batches are queued")
        parser.add_argument("--timeout", type=float, default=None, help="give up waiting after this many seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        from media_index.models import EmbeddingSpace
        from media_index.services.spaces import space_progress, space_reindex_begin, space_reindex_start

        try:
            if options["space"] is not None:
                space = EmbeddingSpace.objects.filter(pk=options["space"]).first()
                if space is None:
                    raise CommandError(f"There is no space {options['space']}.")
                if space.is_active:
                    self.stdout.write(f"{space} is the active space already; resuming any missing items.")
                sent = space_reindex_start(space=space, batch_size=options["batch_size"])
            else:
                backend = options["backend"] or settings.EMBEDDING_BACKEND
                self.stdout.write(f"Loading the {backend} model {options['model'] or '(default)'} ...")
                space, sent = space_reindex_begin(backend=backend, model_name=options["model"],
                                            pretrained=options["pretrained"], batch_size=options["batch_size"])  # fmt: skip
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Space {space.pk} ({space}): {sent} item(s) queued for the workers.")
        if options["no_wait"]:
            self.stdout.write(f"Follow it with 'manage.py reindex --space {space.pk}' or GET /api/v1/spaces/.")
            return
        self._follow(space, space_progress, options["timeout"])

    def _follow(self, space: Any, progress: Any, timeout: float | None) -> None:
        from tqdm import tqdm

        done, total = progress(space)
        started = time.monotonic()
        with tqdm(total=total, initial=done, desc=f"space {space.pk}", unit="item") as bar:
            while done < total:
                if timeout is not None and time.monotonic() - started > timeout:
                    raise CommandError(f"Still {total - done} item(s) to go after {timeout:.0f}s; "
                                       f"resume with 'manage.py reindex --space {space.pk}'.")  # fmt: skip
                time.sleep(1)
                done, total = progress(space)
                bar.total = total
                bar.n = done
                bar.refresh()
        self.stdout.write(self.style.SUCCESS(
            f"Space {space.pk} holds all {total} item(s); a worker now builds its search index in one pass. "
            f"Switch to it with 'manage.py activate_space {space.pk}' (which builds the index itself if it "
            f"is not there yet)."
        ))  # fmt: skip
