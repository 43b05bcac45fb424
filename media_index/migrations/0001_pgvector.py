from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    """pgvector must exist before any vector column; on a managed PostgreSQL the
    migrating role may need to be allowed to create extensions."""

    initial = True
    dependencies: list[tuple[str, str]] = []
    operations = [VectorExtension()]
