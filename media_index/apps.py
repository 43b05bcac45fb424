from django.apps import AppConfig


class MediaIndexConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "media_index"
    verbose_name = "Media index"
