"""Admin: bulk uploads, per-item status, the backlog summary and a retry action."""

from __future__ import annotations

import time
from typing import Any, Literal

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from media_index.embedding.registry import BACKENDS
from media_index.embedding.weights import installed_models
from media_index.errors import ApplicationError, NotFound
from media_index.forms import AdminSignInForm, UploadForm
from media_index.models import ApiToken, EmbeddingSpace, Item
from media_index.search.calibration import STRONG_STEPS, Calibration
from media_index.selectors import item_backlog_summary, space_list_with_counts
from media_index.services.files import item_file_response
from media_index.services.indexing_queue import items_retry
from media_index.services.items import item_set_owner
from media_index.services.spaces import (
    space_activate_checked,
    space_drop,
    space_progress,
    space_reindex_request,
    space_reindex_start,
)
from media_index.services.uploads import items_create_from_files

# Strings read at import (column titles, action names, form labels) are lazy, so that each
# request shows them in its own language; messages built inside methods use gettext.
# The admin's login page says when the sign-in throttle refused (see auth_backends).
admin.site.login_form = AdminSignInForm


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("id", "thumb", "title", "kind", "owner", "visibility", "status", "short_failure", "created_at")
    list_filter = ("status", "kind", "visibility")
    search_fields = ("title", "original_name", "note_text")
    list_select_related = ("owner",)
    readonly_fields = (
        "kind", "original_link", "original_name", "thumbnail_link", "content_hash", "mime_type", "byte_size",
        "width", "height", "status", "failure_reason", "attempts", "indexing_started_at", "indexed_at",
        "created_at", "updated_at",
    )  # fmt: skip
    # The stored files are shown as links to the admin's file views (below), never edited
    # here: a replaced file would no longer match its content hash or its vectors.
    exclude = ("original", "thumbnail")
    actions = ["retry_failed"]
    change_list_template = "admin/media_index/item/change_list.html"

    # Files are never served from MEDIA_URL: the admin has its own file views, checked
    # against the admin's view permission (the site's views show staff only what anyone
    # may see, so a private item of another user would 404 there).
    @admin.display(description=gettext_lazy("original"))
    def original_link(self, item: Item) -> str:
        if not item.original:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:media_index_item_file", args=[item.pk]),
                           item.original_name or _("download"))  # fmt: skip

    @admin.display(description=gettext_lazy("thumbnail"))
    def thumbnail_link(self, item: Item) -> str:
        if not item.thumbnail:
            return "-"
        url = reverse("admin:media_index_item_thumbnail", args=[item.pk])
        return format_html('<a href="{}"><img src="{}" alt="" width="160"></a>', url, url)

    @admin.display(description=gettext_lazy("preview"))
    def thumb(self, item: Item) -> str:
        if not item.thumbnail:
            return "-"
        url = reverse("admin:media_index_item_thumbnail", args=[item.pk])
        return format_html('<img src="{}" alt="" width="48" class="admin-thumb">', url)

    @admin.display(description=gettext_lazy("reason"))
    def short_failure(self, item: Item) -> str:
        return item.failure_reason[:80]

    def save_model(self, request: HttpRequest, obj: Item, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "owner" in form.changed_data:
            # The item's vectors carry a copy of the owner (their per-owner indexes).
            item_set_owner(item=obj, owner_id=obj.owner_id)

    # allowed_permissions: Django hides the action from, and refuses its POST for, staff
    # without that permission (a view-only account must not re-queue work).
    @admin.action(description=gettext_lazy("Retry indexing of the selected failed items"), permissions=["change"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        count = items_retry(item_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request, ngettext("%d item sent back to the queue.", "%d items sent back to the queue.", count) % count
        )

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("upload/", view(self.upload_view), name="media_index_item_upload"),
            path("<int:object_id>/file/", view(self.file_view), {"which": "original"}, name="media_index_item_file"),
            path("<int:object_id>/thumbnail/", view(self.file_view), {"which": "thumbnail"},
                 name="media_index_item_thumbnail"),
            *super().get_urls(),
        ]  # fmt: skip

    def file_view(self, request: HttpRequest, object_id: int, which: Literal["original", "thumbnail"]) -> HttpResponse:
        item = self.get_object(request, str(object_id))
        if item is None or not self.has_view_permission(request, item):
            raise Http404
        try:
            return item_file_response(item=item, which=which)
        except NotFound as error:
            raise Http404(error.message) from error

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "backlog": item_backlog_summary()}
        return super().changelist_view(request, extra_context=extra_context)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            outcomes = items_create_from_files(
                owner=request.user,
                files=form.cleaned_data["files"],
                visibility=form.cleaned_data["visibility"],
                keep_location=form.cleaned_data["keep_location"],
            )
            created = sum(1 for outcome in outcomes if outcome.created)
            duplicates = sum(1 for outcome in outcomes if outcome.item and not outcome.created)
            self.message_user(
                request,
                _("%(created)d new item(s) queued for indexing, %(dup)d already present.")
                % {"created": created, "dup": duplicates},
            )
            for outcome in outcomes:
                if outcome.error:
                    # The admin capitalises messages: lead with words, not with the file name.
                    self.message_user(
                        request,
                        _("Could not add %(name)s: %(reason)s") % {"name": outcome.name, "reason": outcome.error},
                        level=messages.ERROR,
                    )
            return HttpResponseRedirect(reverse("admin:media_index_item_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Upload pictures and notes"),
        }
        return TemplateResponse(request, "admin/media_index/item/upload.html", context)


class ReindexForm(forms.Form):
    """Pick one of the models installed on this machine (the demo model and what
    ``download_models`` fetched into MODEL_DIR), or name another one."""

    installed = forms.ChoiceField(label=gettext_lazy("Installed model"), required=False)
    backend = forms.ChoiceField(
        label=gettext_lazy("or another: backend"),
        required=False,
        choices=[("", "—")] + [(backend.name, backend.label) for backend in BACKENDS.values()],
    )
    model = forms.CharField(
        label=gettext_lazy("model"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("open_clip architecture (ViT-B-32) or a folder under MODEL_DIR"),
    )
    pretrained = forms.CharField(
        label=gettext_lazy("pretrained"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("open_clip tag or checkpoint path; empty for the backend's default"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["installed"].choices = [("", "—")] + [
            ("|".join(entry), f"{BACKENDS[entry[0]].label}: {entry[1]} ({entry[2]})") for entry in installed_models()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("installed"):
            data["backend"], data["model"], data["pretrained"] = data["installed"].split("|", 2)
        elif not (data.get("backend") and data.get("model")):
            raise forms.ValidationError(_("Pick an installed model, or name a backend and a model."))
        return data


# A re-index requested this long ago whose space has not appeared yet is still awaited by
# the change list (the worker may be loading a large model).
REINDEX_WAIT_SECONDS = 300
REINDEX_REQUESTED = "media_index_reindex_requested"


def _progress_text(done: int, total: int) -> str:
    text = _("%(done)s of %(total)s") % {"done": f"{done:,}", "total": f"{total:,}"}
    return text if done >= total else f"{text} ({100 * done // max(total, 1)}%)"


@admin.register(EmbeddingSpace)
class EmbeddingSpaceAdmin(admin.ModelAdmin):
    """Spaces with their progress; re-index into a new model, activate, continue, drop."""

    # The progress bar first: a long checkpoint path or a phone's width must not push it off screen.
    list_display = ("id", "progress", "backend", "model_name", "short_pretrained", "is_active", "is_building",
                    "modality", "dimension", "vector_count", "created_at")  # fmt: skip
    readonly_fields = ("backend", "model_name", "pretrained", "checkpoint_sha256", "dimension", "metric",
                       "normalized", "max_tokens", "modality", "is_active", "is_building", "calibration_table",
                       "created_at")  # fmt: skip
    exclude = ("calibration",)
    actions = ["activate", "continue_building", "drop"]
    change_list_template = "admin/media_index/embeddingspace/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[EmbeddingSpace]:
        return space_list_with_counts()

    @admin.display(description=gettext_lazy("pretrained"), ordering="pretrained")
    def short_pretrained(self, space: EmbeddingSpace) -> str:
        """A checkpoint path by its file name (the whole path on hover)."""
        name = space.pretrained.rsplit("/", 1)[-1]
        return format_html('<span title="{}">{}</span>', space.pretrained, name) if name != space.pretrained else name

    @admin.display(description=gettext_lazy("items embedded"))
    def progress(self, space: EmbeddingSpace) -> str:
        """A bar with items done / total; static/js/admin-progress.js refreshes it from
        ``progress_view`` while the space is building and estimates the time left."""
        done, total = space_progress(space)
        return format_html(
            '<span class="space-progress" data-space="{}" data-building="{}">'
            '<progress max="{}" value="{}" aria-label="{}"></progress> '
            '<span class="count">{}</span> <span class="eta"></span></span>',
            space.pk, "1" if space.is_building else "0", max(total, 1), done,
            _("Items embedded into %(space)s") % {"space": space}, _progress_text(done, total),
        )  # fmt: skip

    @admin.display(description=gettext_lazy("relevance calibration"))
    def calibration_table(self, space: EmbeddingSpace) -> str:
        """Per query kind -> item kind: the cosine at the relevance line and at a strong match."""
        calibration = Calibration.from_json(space.calibration)
        if calibration is None or not calibration.pairs:
            return _("not calibrated yet (done on the first search and as the collection grows)")
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((name, f"{stats.median:.3f} ± {stats.spread:.3f}", f"{stats.cosine_at(0):.3f}",
              f"{stats.cosine_at(STRONG_STEPS):.3f}") for name, stats in calibration.pairs.items()),
        )  # fmt: skip
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table><p>{}</p>",
            _("query → item"),
            _("unrelated (median ± spread)"),
            _("relevant from"),
            _("strong from"),
            rows,
            _("Cosine similarities, measured on %(n)d items.") % {"n": calibration.items},
        )

    @admin.display(description=gettext_lazy("vectors"))
    def vector_count(self, space: EmbeddingSpace) -> int:
        return space.vector_count  # type: ignore[attr-defined]

    @admin.action(description=gettext_lazy("Activate (search with it from now on)"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[EmbeddingSpace]) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one space to activate."), level=messages.ERROR)
            return
        try:
            space = space_activate_checked(space=queryset.get())
        except ApplicationError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return
        self.message_user(request, _("%(space)s is now active.") % {"space": space})

    @admin.action(description=gettext_lazy("Continue building (embed the items still missing)"), permissions=["change"])
    def continue_building(self, request: HttpRequest, queryset: QuerySet[EmbeddingSpace]) -> None:
        for space in queryset:
            sent = space_reindex_start(space=space)
            self.message_user(request, _("%(space)s: %(n)d item(s) queued.") % {"space": space, "n": sent})

    @admin.action(description=gettext_lazy("Drop (delete its vectors and index; not the active space)"), permissions=["drop"])
    def drop(self, request: HttpRequest, queryset: QuerySet[EmbeddingSpace]) -> None:
        for space in queryset:
            name = str(space)
            try:
                deleted = space_drop(space=space)
            except ApplicationError as error:
                self.message_user(request, error.message, level=messages.ERROR)
                continue
            self.message_user(request, _("Dropped %(space)s (%(n)d vectors).") % {"space": name, "n": deleted})

    def get_urls(self) -> list[Any]:
        reindex, progress = (
            self.admin_site.admin_view(self.reindex_view),
            self.admin_site.admin_view(self.progress_view),
        )
        return [
            path("reindex/", reindex, name="media_index_embeddingspace_reindex"),
            path("progress/", progress, name="media_index_embeddingspace_progress"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        requested = request.session.get(REINDEX_REQUESTED) or {}
        waiting = (time.time() - requested.get("at", 0) < REINDEX_WAIT_SECONDS
                   and EmbeddingSpace.objects.count() <= requested.get("spaces", 0))  # fmt: skip
        if requested and not waiting:
            del request.session[REINDEX_REQUESTED]
        return super().changelist_view(request, {**(extra_context or {}), "waiting_for_space": waiting})

    def progress_view(self, request: HttpRequest) -> JsonResponse:
        """Every space's items done / total, polled by the change list's progress bars."""
        if not self.has_view_permission(request):
            return JsonResponse({"detail": _("You may not view embedding spaces.")}, status=403)
        spaces = []
        for space in EmbeddingSpace.objects.order_by("pk"):
            done, total = space_progress(space)
            spaces.append({"id": space.pk, "done": done, "total": total, "building": space.is_building,
                           "text": _progress_text(done, total)})  # fmt: skip
        return JsonResponse({"spaces": spaces})

    def reindex_view(self, request: HttpRequest) -> HttpResponse:
        """Start a re-index into another model's space; the worker loads the model."""
        if not self.has_view_permission(request) or not request.user.is_superuser:
            return HttpResponseRedirect(reverse("admin:index"))
        form = ReindexForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            # An empty "pretrained" takes the backend's default (services.spaces.space_reindex_begin).
            space_reindex_request(backend=data["backend"], model_name=data["model"], pretrained=data["pretrained"])
            # The worker creates the space once it has loaded the model: until then the
            # list has no row to show, and its script waits for one (see changelist_view).
            request.session[REINDEX_REQUESTED] = {"at": time.time(), "spaces": EmbeddingSpace.objects.count()}
            self.message_user(request, _("Re-index queued: the worker loads the model, creates the space and "
                                         "embeds every item. Progress shows in this list."))  # fmt: skip
            return HttpResponseRedirect(reverse("admin:media_index_embeddingspace_changelist"))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": _("Re-index into another model")}  # fmt: skip
        return TemplateResponse(request, "admin/media_index/embeddingspace/reindex.html", context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # spaces are created by indexing and re-indexing, never by hand

    def has_delete_permission(self, request: HttpRequest, obj: EmbeddingSpace | None = None) -> bool:
        return False  # "drop" does it properly (the index too, and never the active space)

    def has_drop_permission(self, request: HttpRequest) -> bool:
        # Django's own delete permission stands for "drop" (the admin's delete is off).
        return request.user.has_perm(f"{self.opts.app_label}.delete_{self.opts.model_name}")


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
