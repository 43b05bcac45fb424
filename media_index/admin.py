"""Admin: bulk uploads, per-item status, the backlog summary and a retry action."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from media_index.forms import UploadForm
from media_index.models import ApiToken, EmbeddingSpace, Item
from media_index.selectors import item_backlog_summary, space_list_with_counts
from media_index.services.indexing import items_retry
from media_index.services.uploads import items_create_from_files


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "kind", "owner", "visibility", "status", "short_failure", "created_at")
    list_filter = ("status", "kind", "visibility")
    search_fields = ("title", "original_name", "note_text")
    list_select_related = ("owner",)
    readonly_fields = (
        "kind", "original", "original_name", "thumbnail", "content_hash", "mime_type", "byte_size",
        "width", "height", "status", "failure_reason", "attempts", "indexing_started_at", "indexed_at",
        "created_at", "updated_at",
    )  # fmt: skip
    actions = ["retry_failed"]
    change_list_template = "admin/media_index/item/change_list.html"

    @admin.display(description=_("reason"))
    def short_failure(self, item: Item) -> str:
        return item.failure_reason[:80]

    @admin.action(description=_("Retry indexing of the selected failed items"))
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        count = items_retry(item_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request, ngettext("%d item sent back to the queue.", "%d items sent back to the queue.", count) % count
        )

    def get_urls(self) -> list[Any]:
        upload = path("upload/", self.admin_site.admin_view(self.upload_view), name="media_index_item_upload")
        return [upload, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "backlog": item_backlog_summary()}
        return super().changelist_view(request, extra_context=extra_context)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            outcomes = items_create_from_files(
                owner=request.user, files=form.cleaned_data["files"], visibility=form.cleaned_data["visibility"]
            )
            created = sum(1 for outcome in outcomes if outcome.created)
            duplicates = sum(1 for outcome in outcomes if outcome.item and not outcome.created)
            self.message_user(request, _("%(created)d new item(s) queued for indexing, %(dup)d already present.")
                              % {"created": created, "dup": duplicates})
            for outcome in outcomes:
                if outcome.error:
                    # The admin capitalises messages: lead with words, not with the file name.
                    self.message_user(request, _("Could not add %(name)s: %(reason)s")
                                      % {"name": outcome.name, "reason": outcome.error}, level=messages.ERROR)
            return HttpResponseRedirect(reverse("admin:media_index_item_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Upload pictures and notes"),
        }
        return TemplateResponse(request, "admin/media_index/item/upload.html", context)


@admin.register(EmbeddingSpace)
class EmbeddingSpaceAdmin(admin.ModelAdmin):
    list_display = ("id", "backend", "model_name", "pretrained", "dimension", "max_tokens", "is_active",
                    "item_count", "vector_count", "created_at")  # fmt: skip
    readonly_fields = ("backend", "model_name", "pretrained", "checkpoint_sha256", "dimension", "metric",
                       "normalized", "max_tokens", "is_active", "created_at")  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet[EmbeddingSpace]:
        return space_list_with_counts()

    @admin.display(description=_("items"))
    def item_count(self, space: EmbeddingSpace) -> int:
        return space.item_count  # type: ignore[attr-defined]

    @admin.display(description=_("vectors"))
    def vector_count(self, space: EmbeddingSpace) -> int:
        return space.vector_count  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # spaces are created by indexing, never by hand


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff see and revoke (delete) every token; keys are never shown, only their prefix."""

    list_display = ("prefix", "name", "user", "created_at", "last_used_at")
    list_filter = ("created_at",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at")
    exclude = ("key_digest",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A key exists only at creation, in the API's response to its owner.
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False
