"""Items (pictures and notes), the embedding spaces they are indexed in, and their vectors."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from pgvector.django import SparseVectorField, VectorField


class EmbeddingSpace(models.Model):
    """One model's vector space. Vectors of two spaces are never compared.

    A space is identified by backend, model, pretrained tag and the checkpoint's
    hash: the same tag re-trained or fine-tuned is a different space.
    """

    class Metric(models.TextChoices):
        COSINE = "cosine", "cosine"

    class Modality(models.TextChoices):
        # Pictures and texts in one space (CLIP): searched for everything.
        IMAGE_TEXT = "image_text", _("pictures and text")
        # Texts only (BGE-M3): notes, searched alongside the image-text space.
        TEXT = "text", _("text only")

    backend = models.CharField(_("backend"), max_length=32)
    model_name = models.CharField(_("model name"), max_length=200)
    pretrained = models.CharField(_("pretrained"), max_length=500, blank=True)
    checkpoint_sha256 = models.CharField(_("checkpoint SHA-256"), max_length=64)
    dimension = models.PositiveIntegerField(_("dimension"))
    metric = models.CharField(max_length=16, choices=Metric.choices, default=Metric.COSINE)
    normalized = models.BooleanField(default=True, help_text=_("Vectors are L2-normalised."))
    max_tokens = models.PositiveIntegerField(help_text=_("The text encoder's input limit, special tokens included."))
    modality = models.CharField(_("modality"), max_length=16, choices=Modality.choices, default=Modality.IMAGE_TEXT)
    is_building = models.BooleanField(
        _("building"), default=False, help_text=_("A re-index is filling it: new uploads are embedded into it too.")
    )
    is_active = models.BooleanField(
        _("active"), default=False, help_text=_("Searched by default; at most one active space per modality.")
    )
    # What unrelated looks like in this space, per (query kind, item kind): see
    # media_index.search.calibration. Refreshed as the collection grows.
    calibration = models.JSONField(_("calibration"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("embedding space")
        verbose_name_plural = _("embedding spaces")
        constraints = [
            models.UniqueConstraint(
                fields=["backend", "model_name", "pretrained", "checkpoint_sha256"], name="unique_space_identity"
            ),
            models.UniqueConstraint(
                fields=["modality"], condition=Q(is_active=True), name="one_active_space_per_modality"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.backend}:{self.model_name}/{self.pretrained} ({self.dimension}d)"

    @property
    def index_name(self) -> str:
        return f"media_index_vector_hnsw_space_{self.pk}"

    def owner_index_name(self, owner_id: int) -> str:
        """The partial HNSW index of one owner's vectors here (services.owner_indexes)."""
        return f"{self.index_name}_owner_{int(owner_id)}"


class Item(models.Model):
    """A picture or a note someone uploaded; its file and row exist before any embedding."""

    class Kind(models.TextChoices):
        IMAGE = "image", _("picture")
        NOTE = "note", _("note")

    class Visibility(models.TextChoices):
        PRIVATE = "private", _("private")
        PUBLIC = "public", _("public")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        INDEXING = "indexing", _("indexing")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    title = models.CharField(max_length=300, blank=True)
    note_text = models.TextField(blank=True)
    original = models.FileField(upload_to="originals/", max_length=300, blank=True)
    original_name = models.CharField(max_length=255, blank=True, help_text=_("The uploaded file's name, sanitised."))
    thumbnail = models.FileField(upload_to="thumbnails/", max_length=300, blank=True)
    content_hash = models.CharField(max_length=64, help_text=_("sha256 of the file, or of the note text."))
    mime_type = models.CharField(max_length=100, blank=True)
    byte_size = models.PositiveBigIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    # From the picture's EXIF: when it was taken (DateTimeOriginal, with its offset when
    # given), the camera, and whether it carried a location (its coordinates: opt-in, below).
    taken_at = models.DateTimeField(_("taken"), null=True, blank=True)
    # The camera's UTC offset in minutes (OffsetTimeOriginal), so the photo shows the local
    # time it was taken (the database keeps instants, not offsets); None: not recorded.
    taken_offset = models.SmallIntegerField(null=True, blank=True)
    # db_default too: tools that insert rows in SQL (bench/ fills 1M rows with COPY) need not
    # know these columns.
    camera = models.CharField(_("camera"), max_length=200, blank=True, default="", db_default="")
    has_location = models.BooleanField(_("has a location"), default=False, db_default=False)
    # Only when the owner asked to keep it at upload (services.uploads.item_create_image).
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.PRIVATE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text=_("Indexing attempts so far."))
    indexing_started_at = models.DateTimeField(null=True, blank=True)
    indexed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("item")
        verbose_name_plural = _("items")
        constraints = [
            # The same picture or note uploaded twice by one person is one item.
            models.UniqueConstraint(fields=["owner", "content_hash"], name="unique_item_content_per_owner"),
        ]
        indexes = [
            models.Index(fields=["status", "indexing_started_at"], name="item_status_idx"),
            models.Index(fields=["owner", "-created_at"], name="item_owner_created_idx"),
            models.Index(fields=["taken_at"], name="item_taken_idx"),
        ]

    @property
    def taken_local(self) -> datetime | None:
        """When the picture was taken, in the time zone of the camera when it said which."""
        if self.taken_at is None or self.taken_offset is None:
            return self.taken_at
        return self.taken_at.astimezone(dt_timezone(timedelta(minutes=self.taken_offset)))

    def __str__(self) -> str:
        if self.title or self.original_name:
            return self.title or self.original_name
        first_line = self.note_text.strip().split("\n", 1)[0]
        # An untitled note is known by its first words.
        return (
            (first_line[:60] + "…") if len(first_line) > 60 else first_line or f"{self.get_kind_display()} #{self.pk}"
        )

    @property
    def indexed_text(self) -> str:
        """The text a note is embedded from; vector spans are offsets into it."""
        return "\n\n".join(part for part in (self.title, self.note_text) if part.strip())


class Vector(models.Model):
    """One vector of an item in one space: an image has one, a note one per chunk.

    The column has no fixed dimension so one table holds every space; each
    space gets its own partial HNSW index on ``embedding::halfvec(dim)``
    (see ``services.spaces``), which the search query must repeat exactly.
    """

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="vectors")
    space = models.ForeignKey(EmbeddingSpace, on_delete=models.CASCADE, related_name="vectors")
    # The item's owner, copied here so an owner's vectors can have a partial HNSW index of
    # their own (services.owner_indexes): a partial index can only name its own table's
    # columns. Deleting the item deletes the row; the item's owner stays the authority.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                              db_constraint=False, db_index=False, related_name="+")  # fmt: skip
    chunk = models.PositiveIntegerField(default=0)
    # Character offsets of the chunk in the note text; null for images.
    span_start = models.PositiveIntegerField(null=True, blank=True)
    span_end = models.PositiveIntegerField(null=True, blank=True)
    embedding = VectorField()
    # Learned lexical weights over the model's token vocabulary (BGE-M3 spaces only).
    sparse = SparseVectorField(null=True, blank=True)

    class Meta:
        verbose_name = _("vector")
        verbose_name_plural = _("vectors")
        constraints = [models.UniqueConstraint(fields=["item", "space", "chunk"], name="unique_vector_chunk")]
        indexes = [models.Index(fields=["space", "item"], name="vector_space_item_idx")]

    def __str__(self) -> str:
        return f"item {self.item_id} chunk {self.chunk} in space {self.space_id}"


class LexicalTerm(models.Model):
    """The lexical vocabulary: a stable integer id per term (append-only).

    Document frequencies are not stored here: they are counted at query time from
    ``LexicalDocument.term_ids`` through its GIN index, so they are exact however items
    come and go (deleted in bulk, re-indexed, changed visibility).
    """

    term = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return self.term


class LexicalDocument(models.Model):
    """The terms of one item's text, for BM25 ranking (see ``media_index.search.bm25``).

    ``frequencies`` is a pgvector ``sparsevec`` over term ids (1-based, value = term
    frequency), so one term's frequency is an inner product with a one-hot vector;
    ``term_ids`` repeats the ids as an integer array for the GIN index that finds the
    documents containing any query term. It is independent of embedding spaces: the
    same lexical index serves every space and survives re-indexing.
    """

    item = models.OneToOneField(Item, on_delete=models.CASCADE, primary_key=True, related_name="lexical")
    length = models.PositiveIntegerField(help_text="Number of terms, for BM25's length normalisation.")
    analyzer = models.PositiveSmallIntegerField(
        default=1, help_text="media_index.lexical.ANALYZER_VERSION it was made with."
    )
    term_ids = ArrayField(models.IntegerField())
    frequencies = SparseVectorField()

    class Meta:
        indexes = [GinIndex(fields=["term_ids"], name="lexical_term_ids_gin")]

    def __str__(self) -> str:
        return f"terms of item {self.item_id}"


class ApiToken(models.Model):
    """A revocable API key for one client (a phone, a script); a user may hold several.

    Only a SHA-256 digest of the key is stored: a leaked database does not leak working
    keys. The first characters are kept to tell tokens apart in lists.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True, help_text=_("Which client uses it."))
    prefix = models.CharField(max_length=12)
    key_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # None: valid until revoked (or until its owner's password changes).
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'}, {self.user})"


class QueryPicture(models.Model):
    """A picture someone searched with: its vector in one space and a small preview, under
    an opaque random id, so a results page can be paged, refined with words and shared as a
    plain link (no session) until it expires. The uploaded file itself is not kept."""

    id = models.CharField(primary_key=True, max_length=32)
    space = models.ForeignKey(EmbeddingSpace, on_delete=models.CASCADE, related_name="query_pictures")
    vector = ArrayField(models.FloatField())
    preview = models.BinaryField(help_text=_("A small JPEG of the picture, shown above its results."))
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"query picture {self.id}"
