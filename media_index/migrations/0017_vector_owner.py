"""Vectors carry their item's owner (for per-owner partial HNSW indexes,
services.owner_indexes). Existing rows are filled in from their items: one UPDATE, a few
seconds per 100k vectors."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("media_index", "0016_space_verbose_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="vector",
            name="owner",
            field=models.ForeignKey(
                blank=True, db_constraint=False, db_index=False, null=True,
                on_delete=models.DO_NOTHING, related_name="+", to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunSQL(
            "UPDATE media_index_vector v SET owner_id = i.owner_id FROM media_index_item i "
            "WHERE i.id = v.item_id AND v.owner_id IS NULL",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
