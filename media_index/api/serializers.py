"""API shapes: input validation of form, output of fields. No logic."""

from __future__ import annotations

from rest_framework import serializers

from media_index.models import EmbeddingSpace, Item


class ItemSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.get_username", read_only=True)

    class Meta:
        model = Item
        fields = [
            "id", "kind", "title", "note_text", "original_name", "mime_type", "byte_size", "width", "height",
            "visibility", "status", "failure_reason", "owner", "created_at", "indexed_at",
        ]  # fmt: skip
        read_only_fields = fields


class ItemCreateSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="A picture, or a .txt/.md note.")
    text = serializers.CharField(required=False, trim_whitespace=False, help_text="Note text (instead of a file).")
    title = serializers.CharField(required=False, allow_blank=True, max_length=300)
    visibility = serializers.ChoiceField(choices=Item.Visibility.choices, default=Item.Visibility.PRIVATE)

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("file")) == bool(attrs.get("text")):
            raise serializers.ValidationError("Send exactly one of 'file' (a picture or note file) or 'text'.")
        return attrs


class SpaceSerializer(serializers.ModelSerializer):
    vector_count = serializers.IntegerField(read_only=True)
    item_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = EmbeddingSpace
        fields = ["id", "backend", "model_name", "pretrained", "checkpoint_sha256", "dimension", "metric",
                  "normalized", "max_tokens", "is_active", "item_count", "vector_count", "created_at"]  # fmt: skip
        read_only_fields = fields
