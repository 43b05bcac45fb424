"""API shapes: input validation of form, output of fields. No logic."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from rest_framework import serializers

from media_index.models import ApiToken, EmbeddingSpace, Item
from media_index.search.calibration import STRONG_STEPS, Calibration
from media_index.selectors import item_list_visible_to
from media_index.services.spaces import space_progress


class LocalDateTimeField(serializers.DateTimeField):
    """An aware date-time kept in its own offset (a photo's local time), not converted to UTC."""

    def enforce_timezone(self, value):  # noqa: ANN001, ANN201 - DRF's signature
        return value if value is not None and value.tzinfo is not None else super().enforce_timezone(value)


class ItemSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.get_username", read_only=True)
    taken_at = LocalDateTimeField(source="taken_local", allow_null=True, read_only=True,
                                         help_text="When the picture was taken (EXIF), in the camera's time zone "
                                                   "when it recorded one.")  # fmt: skip

    class Meta:
        model = Item
        fields = [
            "id", "kind", "title", "note_text", "original_name", "mime_type", "byte_size", "width", "height",
            "visibility", "status", "failure_reason", "owner", "created_at", "indexed_at", "taken_at", "camera",
            "has_location", "location",
        ]  # fmt: skip
        read_only_fields = fields

    location = serializers.SerializerMethodField(
        help_text="Where the photo was taken ({latitude, longitude} in degrees): only for its owner, and only when "
                  "it was uploaded with keep_location; null otherwise."
    )  # fmt: skip

    def get_location(self, item: Item) -> dict[str, float] | None:
        request = self.context.get("request")
        owner = request is not None and request.user.is_authenticated and request.user.pk == item.owner_id
        if not owner or item.latitude is None or item.longitude is None:
            return None
        return {"latitude": item.latitude, "longitude": item.longitude}


class ItemCreateSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="A picture, or a .txt/.md note.")
    text = serializers.CharField(required=False, trim_whitespace=False, help_text="Note text (instead of a file).")
    title = serializers.CharField(required=False, allow_blank=True, max_length=300)
    visibility = serializers.ChoiceField(choices=Item.Visibility.choices, default=Item.Visibility.PRIVATE)
    keep_location = serializers.BooleanField(
        default=False, help_text="Keep a photo's GPS location (stored, shown to its owner only). By default it is "
                                 "removed from the stored file and not kept.",
    )  # fmt: skip

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("file")) == bool(attrs.get("text")):
            raise serializers.ValidationError("Send exactly one of 'file' (a picture or note file) or 'text'.")
        return attrs


class SpaceSerializer(serializers.ModelSerializer):
    """A space as search results name it (which model answered)."""

    class Meta:
        model = EmbeddingSpace
        fields = ["id", "backend", "model_name", "pretrained", "checkpoint_sha256", "dimension", "metric",
                  "normalized", "max_tokens", "modality", "is_active", "created_at"]  # fmt: skip
        read_only_fields = fields


class SpaceStatusSerializer(serializers.ModelSerializer):
    """A space with its counts and re-index progress (GET /spaces/)."""

    vector_count = serializers.IntegerField(read_only=True, help_text="Of the items you may see (staff: all).")
    item_count = serializers.IntegerField(
        read_only=True, help_text="Items with vectors in this space, of those you may see (staff: all)."
    )
    eligible_items = serializers.SerializerMethodField(help_text="Items that belong in it (notes only for text).")
    complete = serializers.SerializerMethodField(help_text="Every eligible item is embedded in it.")
    calibration = serializers.SerializerMethodField(
        help_text="Relevance calibration per 'query kind->item kind' pair: the cosine at the relevance line "
                  "(threshold) and at a strong match, with the background median and spread. Staff only (it is "
                  "computed over every user's items); others see only whether the space is calibrated."
    )  # fmt: skip

    class Meta:
        model = EmbeddingSpace
        fields = ["id", "backend", "model_name", "pretrained", "checkpoint_sha256", "dimension", "metric",
                  "normalized", "max_tokens", "modality", "is_active", "is_building", "item_count",
                  "eligible_items", "complete", "vector_count", "calibration", "created_at"]  # fmt: skip
        read_only_fields = fields

    def get_calibration(self, space: EmbeddingSpace) -> dict:
        calibration = Calibration.from_json(space.calibration)
        if calibration is None or not calibration.pairs:
            return {"calibrated": False}
        request = self.context.get("request")
        if request is None or not request.user.is_staff:
            return {"calibrated": True}
        return {"calibrated": True, "items": calibration.items, "pairs": {
            name: {"threshold_cosine": round(stats.cosine_at(0.0), 4),
                   "strong_cosine": round(stats.cosine_at(STRONG_STEPS), 4),
                   "background_median": round(stats.median, 4), "background_spread": round(stats.spread, 4)}
            for name, stats in calibration.pairs.items()
        }}  # fmt: skip

    def _progress(self, space: EmbeddingSpace) -> tuple[int, int]:
        cache = self.context.setdefault("_progress", {})
        if space.pk not in cache:
            request = self.context.get("request")
            # Staff see the totals; everyone else what they may see (as the counts).
            among = (
                None
                if request is not None and request.user.is_staff
                else item_list_visible_to(viewer=request.user if request is not None else AnonymousUser())
            )
            cache[space.pk] = space_progress(space, among=among)
        return cache[space.pk]

    def get_eligible_items(self, space: EmbeddingSpace) -> int:
        return self._progress(space)[1]

    def get_complete(self, space: EmbeddingSpace) -> bool:
        done, total = self._progress(space)
        return done >= total


class SearchQuerySerializer(serializers.Serializer):
    """Query-string parameters of GET /search/ (and form fields of POST /search/)."""

    q = serializers.CharField(required=False, allow_blank=True, max_length=1000, trim_whitespace=True)
    kind = serializers.ChoiceField(choices=Item.Kind.choices, required=False)
    scope = serializers.ChoiceField(choices=["all", "mine", "public"], default="all")
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    sort = serializers.ChoiceField(choices=["relevance", "date"], default="relevance")
    mode = serializers.ChoiceField(
        choices=["dense", "lexical", "hybrid"], required=False,
        help_text="dense: by meaning (the space's model); lexical: by the words (BM25, Chinese segmented); "
                  "hybrid: both, fused by reciprocal rank. Default: hybrid for words, dense for a picture.",
    )  # fmt: skip
    include_weaker = serializers.BooleanField(default=False)
    space = serializers.IntegerField(required=False, min_value=1)
    page = serializers.IntegerField(default=1, min_value=1, max_value=1000)
    page_size = serializers.IntegerField(default=24, min_value=1, max_value=100)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError("date_from must not be after date_to.")
        return attrs


class SearchImageSerializer(SearchQuerySerializer):
    image = serializers.FileField(required=False, help_text="A picture to search with (with or without q).")

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if not attrs.get("image") and not attrs.get("q"):
            raise serializers.ValidationError("Send a picture in 'image', words in 'q', or both.")
        return attrs


class SearchHitSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="item.pk")
    kind = serializers.CharField(source="item.kind")
    title = serializers.CharField(source="item.__str__")
    snippet = serializers.SerializerMethodField(help_text="For a note: the passage that matched.")
    highlights = serializers.SerializerMethodField(
        help_text="[start, end) character offsets in snippet of the query's words (lexical matches)."
    )
    score = serializers.FloatField(
        help_text="What the list is ordered by: the calibrated relevance when the space "
        "is calibrated (else cosine, BM25 or the fused rank score; see mode)."
    )
    relevance = serializers.FloatField(
        allow_null=True,
        help_text="Calibrated relevance, comparable between pictures and notes: 0 is the line between relevant and "
                  "not (what unrelated searches reach in this space), 1 or more a strong match; in lexical mode the "
                  "share of the query's words the item holds.",
    )  # fmt: skip
    match = serializers.CharField(help_text="The relevance in words: 'strong', 'good' or 'weak' (below the line).")
    dense_score = serializers.FloatField(allow_null=True, help_text="Cosine similarity to the query, if computed.")
    lexical_score = serializers.FloatField(allow_null=True, help_text="BM25 score, if the item contains query words.")
    signals = serializers.ListField(child=serializers.CharField(),
                                    help_text="Which retrievers matched: 'dense' and/or 'lexical'.")  # fmt: skip
    matched_terms = serializers.ListField(child=serializers.CharField(), help_text="Query terms found (analysed form).")
    chunk = serializers.IntegerField()
    owner = serializers.CharField(source="item.owner.get_username")
    visibility = serializers.CharField(source="item.visibility")
    created_at = serializers.DateTimeField(source="item.created_at")
    taken_at = LocalDateTimeField(source="item.taken_local", allow_null=True,
                                         help_text="When the picture was taken (EXIF), if it says.")  # fmt: skip
    thumbnail_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    space_id = serializers.SerializerMethodField()

    def get_space_id(self, hit) -> int:
        return self.context["space_id"]

    def get_snippet(self, hit) -> str:
        return hit.snippet

    def get_highlights(self, hit) -> list[list[int]]:
        return [list(span) for span in hit.highlights]

    def get_thumbnail_url(self, hit) -> str | None:
        if not hit.item.thumbnail:
            return None
        return self.context["request"].build_absolute_uri(f"/api/v1/items/{hit.item.pk}/thumbnail/")

    def get_url(self, hit) -> str:
        return self.context["request"].build_absolute_uri(f"/api/v1/items/{hit.item.pk}/")


class SearchResponseSerializer(serializers.Serializer):
    space = SpaceSerializer()
    mode = serializers.CharField(help_text="The retrieval mode used: dense, lexical or hybrid.")
    count = serializers.IntegerField(help_text="Relevant results (after the adaptive cutoff).")
    weaker_count = serializers.IntegerField(help_text="Results below the cutoff; include_weaker=true shows them.")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = SearchHitSerializer(many=True)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=100,
                                 help_text="A label for this client, e.g. 'Anna's phone'.")  # fmt: skip
    expires_in_days = serializers.IntegerField(
        required=False, min_value=1, max_value=3650,
        help_text="Make the token expire after this many days (the server may cap it). Without it the token "
                  "lives until revoked, unless the server sets a maximum. A password change revokes every token.",
    )  # fmt: skip


class ApiTokenSerializer(serializers.Serializer):
    """A token as listed: never the key, which is shown once, when it is created."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's first characters, to tell tokens apart.")
    created = serializers.DateTimeField(source="created_at")
    last_used = serializers.DateTimeField(source="last_used_at", allow_null=True)
    expires = serializers.DateTimeField(source="expires_at", allow_null=True, help_text="None: until revoked.")
    current = serializers.SerializerMethodField(help_text="True for the token this request used.")

    def get_current(self, token: ApiToken) -> bool:
        request = self.context.get("request")
        return bool(request is not None and getattr(request.auth, "pk", None) == token.pk)


class TokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="The key: send it as 'Authorization: Token <key>' or 'Bearer <key>'.")
