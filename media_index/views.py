"""Page views: thin, they call selectors and services and render templates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from media_index.errors import ApplicationError, InvalidInput, ModelUnavailable, NotFound, ServiceUnavailable
from media_index.forms import ImageQueryForm, NoteForm, SearchForm, UploadForm
from media_index.health import public_report, system_health
from media_index.models import Item
from media_index.ratelimit import rate_limited
from media_index.search.service import (
    active_space_or_error,
    search_by_query,
    search_by_vector,
    search_similar,
)
from media_index.search.snippets import shown_hits
from media_index.search.types import SearchFilters, SearchResult
from media_index.selectors import (
    active_space,
    is_demo_space,
    item_list_browse,
    item_list_for_owner,
    item_list_visible_to,
    item_statuses_for_owner,
)
from media_index.services.files import item_file_response
from media_index.services.items import item_delete, items_delete, items_set_visibility, items_zip
from media_index.services.query_pictures import query_picture_create, query_picture_get
from media_index.services.uploads import item_create_note, items_create_from_files


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, report = system_health()
    token = settings.HEALTH_TOKEN
    sent = request.headers.get("X-Health-Token", "")
    detailed = request.user.is_staff or bool(token and sent and constant_time_compare(sent, token))
    return JsonResponse(report if detailed else public_report(report), status=200 if healthy else 503)


PAGE_SIZE = 24
# Browsing shows more at once: pictures in a grid, grouped by day.
BROWSE_PAGE_SIZE = 60
# The longest "back to results" address an item page accepts (a search URL with filters).
MAX_BACK_PATH = 2000
# Weaker matches shown at most, after the relevant ones: the closest of what did not match.
WEAKER_SHOWN = 48


def _filters(data: dict[str, Any]) -> SearchFilters:
    return SearchFilters(kind=data.get("kind") or None, scope=data.get("scope") or "all",
                         date_from=data.get("date_from"), date_to=data.get("date_to"),
                         sort=data.get("sort") or "relevance")  # fmt: skip


def _render_results(request: HttpRequest, context: dict[str, Any], run: Callable[[], SearchResult],
                    show_weaker: bool, page_number: int) -> HttpResponse:  # fmt: skip
    """Run a search and render the page; application errors become friendly messages."""
    try:
        result = run()
    except ApplicationError as exc:
        return _error_page(request, context, exc, status=200)
    # Relevant results are paged; the weaker matches follow the last page, below a divider.
    paginator = Paginator(result.hits, PAGE_SIZE)
    page = paginator.get_page(page_number)
    on_last_page = not page.has_next()
    params = request.GET.copy()
    params.pop("page", None)
    context.update({
        "result": result, "page": page, "hits": shown_hits(page.object_list), "weaker_count": len(result.weaker),
        "weaker_hits": shown_hits(result.weaker[:WEAKER_SHOWN]) if show_weaker and on_last_page else [],
        "show_weaker": show_weaker, "on_last_page": on_last_page, "base_query": params.urlencode(), "searched": True,
        "back_path": request.get_full_path(),
    })  # fmt: skip
    return render(request, "media_index/home.html", context)


def _browse(request: HttpRequest, context: dict[str, Any], data: dict[str, Any]) -> HttpResponse:
    """An empty query: the library (yours and the public items), newest first, by day."""
    items = item_list_browse(viewer=request.user, kind=data.get("kind") or None, scope=data.get("scope") or "all",
                             date_from=data.get("date_from"), date_to=data.get("date_to"))  # fmt: skip
    page = Paginator(items, BROWSE_PAGE_SIZE).get_page(data["page"] or 1)
    params = request.GET.copy()
    params.pop("page", None)
    context.update(
        {"browsing": True, "page": page, "base_query": params.urlencode(), "back_path": request.get_full_path()}
    )
    return render(request, "media_index/home.html", context)


def _error_page(request: HttpRequest, context: dict[str, Any], exc: ApplicationError, *, status: int) -> HttpResponse:
    """The search page with the error's message; 503 when retrying later is the remedy."""
    context["error"] = exc.message
    if isinstance(exc, (ModelUnavailable, ServiceUnavailable)):
        status = 503
    return render(request, "media_index/home.html", context, status=status)


def _base_context(request: HttpRequest, form: SearchForm) -> dict[str, Any]:
    space = active_space()
    return {"form": form, "space": space, "image_form": ImageQueryForm(), "demo": is_demo_space(space)}


@require_http_methods(["GET", "POST"])
@rate_limited(anonymous="search_anon", authenticated="search_user")
def home(request: HttpRequest) -> HttpResponse:
    """The search page: words by GET (works without JavaScript), a picture by POST."""
    if request.method == "POST":
        return _image_query(request)
    form = SearchForm(request.GET)
    context = _base_context(request, form)
    if not form.is_valid():
        context["error"] = _("Some search options are not valid: %(errors)s") % {
            "errors": "; ".join(str(message) for messages_ in form.errors.values() for message in messages_)
        }
        return render(request, "media_index/home.html", context, status=400)
    data = form.cleaned_data
    query_text, image_key = data["q"].strip(), data["iq"]
    if not query_text and not image_key:
        if "q" in request.GET:
            return _browse(request, context, data)
        return render(request, "media_index/home.html", context)
    if image_key:
        picture = query_picture_get(image_key)
        if picture is None:
            context["error"] = _("That picture search has expired. Please choose the picture again.")
            return render(request, "media_index/home.html", context)
        context.update({"image_query": True, "query_picture": picture})

        def run() -> SearchResult:
            return search_by_vector(viewer=request.user, space_id=picture.space_id, vector=picture.vector,
                                    filters=_filters(data), words=query_text)  # fmt: skip
    else:

        def run() -> SearchResult:
            return search_by_query(viewer=request.user, text=query_text, filters=_filters(data),
                                   mode=data.get("mode") or None)  # fmt: skip

    return _render_results(request, context, run, data["weaker"], data["page"] or 1)


def _image_query(request: HttpRequest) -> HttpResponse:
    form = ImageQueryForm(request.POST, request.FILES)
    context = _base_context(request, SearchForm())
    if not form.is_valid():
        context["error"] = _("Choose a picture to search with.")
        return render(request, "media_index/home.html", context, status=400)
    upload = form.cleaned_data["image"]
    try:
        if upload.size > settings.QUERY_IMAGE_MAX_BYTES:
            raise InvalidInput(_("The picture is too large to search with; try a smaller copy."))
        picture = query_picture_create(space=active_space_or_error(), data=upload.read())
    except ApplicationError as exc:
        return _error_page(request, context, exc, status=exc.status_code)
    # A plain link from here on: paged, refined with words, shared (services.query_pictures).
    params = {"iq": picture.pk,
              **{name: request.POST[name] for name in ("kind", "scope", "sort") if request.POST.get(name)}}  # fmt: skip
    return redirect(f"{reverse('media_index:home')}?{urlencode(params)}")


@require_safe
def query_picture_preview(request: HttpRequest, picture_id: str) -> HttpResponse:
    """The small preview of a picture searched with (anyone with the link, like the results)."""
    picture = query_picture_get(picture_id)
    if picture is None:
        raise Http404
    response = HttpResponse(bytes(picture.preview), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _visible_item(request: HttpRequest, pk: int) -> Item:
    return get_object_or_404(item_list_visible_to(viewer=request.user).select_related("owner"), pk=pk)


def _back_path(request: HttpRequest) -> str:
    """The results page an item was opened from (``?back=``), when it is a path on this
    site; anything else (another site, a scheme, an overlong value; Django's check also
    refuses the tabs and line breaks browsers would drop, as in "/\t/evil.example") is
    ignored."""
    back = request.GET.get("back", "")
    if not back.startswith("/") or back.startswith(("//", "/\\")) or len(back) > MAX_BACK_PATH:
        return ""
    return back if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) else ""


@require_safe
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_item(request, pk)
    context = {"item": item, "is_owner": item.owner_id == request.user.pk, "back": _back_path(request)}
    return render(request, "media_index/item_detail.html", context)


@require_safe
@rate_limited(anonymous="search_anon", authenticated="search_user")
def item_similar(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_item(request, pk)
    form = SearchForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    context = {**_base_context(request, form), "similar_to": item}
    return _render_results(
        request, context, lambda: search_similar(viewer=request.user, item=item, filters=_filters(data)),
        bool(data.get("weaker")), data.get("page") or 1,
    )  # fmt: skip


@login_required
@require_POST
def item_remove(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(item_list_for_owner(owner_id=request.user.pk), pk=pk)
    item_delete(item=item)
    messages.success(request, _("Deleted."))
    return redirect("media_index:upload")


BULK_ACTIONS = ("public", "private", "delete", "confirm-delete", "zip")


@login_required
@require_POST
def items_bulk(request: HttpRequest) -> HttpResponse:
    """Act on several of your own items selected in the library: make public or private,
    download as a zip, delete (after a confirmation page). Others' ids are ignored."""
    action = request.POST.get("action", "")
    ids = [int(value) for value in request.POST.getlist("ids") if value.isdigit()]
    back = request.POST.get("next", "")
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("media_index:home") + "?q="
    if action not in BULK_ACTIONS or not ids:
        messages.error(request, _("Select some of your items, then an action."))
        return redirect(back)
    owner_id = request.user.pk
    if action in ("public", "private"):
        count = items_set_visibility(owner_id=owner_id, item_ids=ids, visibility=action)
        messages.success(request, _("%(n)d item(s) changed.") % {"n": count})
    elif action == "delete":
        items = item_list_for_owner(owner_id=owner_id).filter(pk__in=ids)
        return render(request, "media_index/confirm_delete.html", {"items": items, "next": back})
    elif action == "confirm-delete":
        count = items_delete(owner_id=owner_id, item_ids=ids)
        messages.success(request, _("%(n)d item(s) deleted.") % {"n": count})
    else:
        try:
            archive = items_zip(owner_id=owner_id, item_ids=ids)
        except InvalidInput as exc:
            messages.error(request, exc.message)
            return redirect(back)
        return FileResponse(archive, as_attachment=True, filename="items.zip", content_type="application/zip")
    return redirect(back)


def _serve(request: HttpRequest, pk: int, which: Literal["thumbnail", "original"]) -> HttpResponse:
    try:
        return item_file_response(item=_visible_item(request, pk), which=which)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@require_safe
def item_thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    return _serve(request, pk, "thumbnail")


@require_safe
def item_file(request: HttpRequest, pk: int) -> HttpResponse:
    return _serve(request, pk, "original")


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited(anonymous="upload", authenticated="upload", methods=("POST",))
def upload(request: HttpRequest) -> HttpResponse:
    """Upload files or write a note; shows the person's latest items and their status."""
    upload_form = UploadForm(prefix="up")
    note_form = NoteForm(prefix="note")
    if request.method == "POST" and "up-visibility" in request.POST:
        upload_form = UploadForm(request.POST, request.FILES, prefix="up")
        if upload_form.is_valid():
            outcomes = items_create_from_files(owner=request.user, files=upload_form.cleaned_data["files"],
                                               visibility=upload_form.cleaned_data["visibility"],
                                               keep_location=upload_form.cleaned_data["keep_location"])  # fmt: skip
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
                _item, created = item_create_note(
                    owner=request.user,
                    text=note_form.cleaned_data["text"],
                    title=note_form.cleaned_data["title"],
                    visibility=note_form.cleaned_data["visibility"],
                )
            except InvalidInput as exc:
                note_form.add_error("text", exc.message)
            else:
                messages.success(request, _("Note saved.") if created else _("You saved this note already."))
                return redirect("media_index:upload")
    items = item_list_for_owner(owner_id=request.user.pk)[:50]
    # A POST that gets here had an invalid form: say so in the status too.
    return render(request, "media_index/upload.html",
                  {"upload_form": upload_form, "note_form": note_form, "items": items},
                  status=400 if request.method == "POST" else 200)  # fmt: skip


# At most this many ids per status poll (the upload page lists the latest 50).
STATUS_POLL_MAX_IDS = 100


@login_required
@require_safe
@never_cache
def upload_status(request: HttpRequest) -> JsonResponse:
    """Indexing status of the caller's own items, for the upload page's live progress."""
    ids = [int(part) for part in request.GET.get("ids", "").split(",") if part.strip().isdigit()][:STATUS_POLL_MAX_IDS]
    items = item_statuses_for_owner(owner_id=request.user.pk, item_ids=ids)
    done = sum(1 for item in items if item["status"] in (Item.Status.READY, Item.Status.FAILED))
    return JsonResponse({"items": items, "done": done, "total": len(items)})
