"""Signal receivers (connected in ``apps.MediaIndexConfig.ready``); thin: they call services."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser

from media_index.services.tokens import tokens_revoke_all


def note_password_change(sender: type[AbstractBaseUser], instance: AbstractBaseUser, **kwargs: Any) -> None:
    """Before a user is saved: remember whether the stored password hash changes. Every way
    to change it (the password pages, the admin, ``changepassword``, a reset link) ends
    in saving the user, so this is the one place that sees them all."""
    if instance.pk is None or kwargs.get("raw"):
        return
    stored = sender._default_manager.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._password_changed = stored is not None and stored != instance.password  # type: ignore[attr-defined]


def revoke_tokens_on_password_change(sender: type[AbstractBaseUser], instance: AbstractBaseUser, **kwargs: Any) -> None:
    if getattr(instance, "_password_changed", False):
        tokens_revoke_all(user_id=instance.pk)
        instance._password_changed = False  # type: ignore[attr-defined]
