"""Keep vectors inline in the table's rows instead of out-of-line TOAST.

pgvector declares ``vector`` with EXTERNAL storage, so a 512-d vector (2,056 bytes, over
PostgreSQL's 2 kB threshold) went to the TOAST table: re-scoring the 400 HNSW candidates
of a search read 400 TOAST entries. With MAIN they stay in the row (TOAST only as a last
resort for very wide vectors): the search query at 100k vectors fell from 23 to 8 ms
(bench/search_http.py). Only rows written from now on are affected; an existing install
can rewrite old rows with ``VACUUM FULL media_index_vector`` in a quiet moment.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("media_index", "0007_lexical_analyzer_version"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE media_index_vector ALTER COLUMN embedding SET STORAGE MAIN",
            reverse_sql="ALTER TABLE media_index_vector ALTER COLUMN embedding SET STORAGE EXTERNAL",
        ),
    ]
