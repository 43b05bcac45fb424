from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediaIndexConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "media_index"
    verbose_name = _("Media index")

    def ready(self) -> None:
        # Teach Pillow to open HEIC/HEIF (iPhone photos) and AVIF; cheap, no model involved.
        import pillow_heif

        pillow_heif.register_heif_opener()

        from django.contrib.auth import get_user_model
        from django.core import checks
        from django.db.models.signals import post_save, pre_save

        from media_index import signals
        from media_index.replicas import check_shared_cache

        checks.register(check_shared_cache)

        user_model = get_user_model()
        pre_save.connect(signals.note_password_change, sender=user_model, dispatch_uid="note_password_change")
        post_save.connect(signals.revoke_tokens_on_password_change, sender=user_model,
                          dispatch_uid="revoke_tokens_on_password_change")  # fmt: skip
