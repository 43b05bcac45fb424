"""Create the first admin account if there is none, and say its password once."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEFAULT_USERNAME = "admin"


class Command(BaseCommand):
    help = "Create an admin account with a random password unless a superuser exists."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=DEFAULT_USERNAME)
        parser.add_argument("--json", action="store_true", help="machine-readable output (for the launcher)")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()  # noqa: N806 - Django's idiom
        existing = User.objects.filter(is_superuser=True).order_by("pk").first()
        if existing is not None:
            result: dict[str, Any] = {"created": False, "username": existing.get_username()}
        else:
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(username=options["username"], email="", password=password)
            result = {"created": True, "username": options["username"], "password": password}
        if options["json"]:
            self.stdout.write(json.dumps(result))
        elif result["created"]:
            self.stdout.write(f"Created admin '{result['username']}' with password: {result['password']}")
        else:
            self.stdout.write(f"An admin account exists already ('{result['username']}').")
