from django.apps import AppConfig


class MediaIndexConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "media_index"
    verbose_name = "Media index"

    def ready(self) -> None:
        # Teach Pillow to open HEIC/HEIF (iPhone photos) and AVIF; cheap, no model involved.
        import pillow_heif

        pillow_heif.register_heif_opener()
