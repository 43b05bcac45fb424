"""Give every ready item its lexical (BM25) entry; run after upgrading (``make run`` does)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Build the lexical entries of ready items that have none (new items get theirs when indexed)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--all", action="store_true", help="rebuild every ready item's entry")

    def handle(self, *args: Any, **options: Any) -> None:
        from media_index.models import Item, LexicalDocument
        from media_index.services.lexical_index import lexical_index_missing

        if options["all"]:
            LexicalDocument.objects.all().delete()
        done = lexical_index_missing()
        total = Item.objects.filter(status=Item.Status.READY).count()
        self.stdout.write(f"Indexed {done} item(s); {total} ready item(s) have lexical entries.")
