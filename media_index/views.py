"""Page views: thin, they call selectors and services and render templates."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from media_index.errors import InvalidInput
from media_index.forms import NoteForm, UploadForm
from media_index.health import system_health
from media_index.selectors import item_list_for_owner
from media_index.services.uploads import item_create_note, items_create_from_files


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, report = system_health()
    return JsonResponse(report, status=200 if healthy else 503)


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "media_index/home.html")


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """Upload files or write a note; shows the person's latest items and their status."""
    upload_form = UploadForm(prefix="up")
    note_form = NoteForm(prefix="note")
    if request.method == "POST" and "up-visibility" in request.POST:
        upload_form = UploadForm(request.POST, request.FILES, prefix="up")
        if upload_form.is_valid():
            outcomes = items_create_from_files(owner=request.user, files=upload_form.cleaned_data["files"],
                                               visibility=upload_form.cleaned_data["visibility"])
            for outcome in outcomes:
                if outcome.error:
                    messages.error(request, f"{outcome.name}: {outcome.error}")
                elif outcome.created:
                    messages.success(request, _("%(name)s: added, indexing shortly.") % {"name": outcome.name})
                else:
                    messages.info(request, _("%(name)s: you uploaded this already.") % {"name": outcome.name})
            return redirect("media_index:upload")
    elif request.method == "POST":
        note_form = NoteForm(request.POST, prefix="note")
        if note_form.is_valid():
            try:
                _item, created = item_create_note(owner=request.user, text=note_form.cleaned_data["text"],
                                                  title=note_form.cleaned_data["title"],
                                                  visibility=note_form.cleaned_data["visibility"])
            except InvalidInput as exc:
                note_form.add_error("text", exc.message)
            else:
                messages.success(request, _("Note saved.") if created else _("You saved this note already."))
                return redirect("media_index:upload")
    items = item_list_for_owner(owner_id=request.user.pk)[:50]
    return render(request, "media_index/upload.html",
                  {"upload_form": upload_form, "note_form": note_form, "items": items})
