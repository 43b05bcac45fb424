"""Read-only queries; pure functions of their arguments."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce, TruncDate, TruncMonth

from media_index.models import ApiToken, EmbeddingSpace, Item


def item_backlog_summary() -> dict[str, int]:
    """How many items are in each indexing state (every state present, zeros included)."""
    counts = dict(Item.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: counts.get(status, 0) for status in Item.Status.values}


def item_list_for_owner(*, owner_id: int) -> QuerySet[Item]:
    return Item.objects.filter(owner_id=owner_id)


def active_space(*, modality: str = EmbeddingSpace.Modality.IMAGE_TEXT) -> EmbeddingSpace | None:
    """The space searched now for ``modality`` (at most one is active per modality); the one
    place that query is written."""
    return EmbeddingSpace.objects.filter(is_active=True, modality=modality).first()


def active_text_space() -> EmbeddingSpace | None:
    """The active text-only space (BGE-M3), searched alongside for notes; None if there is none."""
    return active_space(modality=EmbeddingSpace.Modality.TEXT)


def _visible(viewer: AbstractBaseUser | AnonymousUser, prefix: str = "") -> Q:
    public = Q(**{f"{prefix}visibility": Item.Visibility.PUBLIC})
    return public | Q(**{f"{prefix}owner_id": viewer.pk}) if viewer.is_authenticated else public


def space_list_with_counts(*, viewer: AbstractBaseUser | AnonymousUser | None = None) -> QuerySet[EmbeddingSpace]:
    """Spaces with how many items and vectors each holds: all of them (``viewer`` None: the
    admin, or staff), else only those the viewer may see, so that the counts do not tell
    anyone how many private items other people have (or when they add one)."""
    counted = None if viewer is None or viewer.is_staff else _visible(viewer, "vectors__item__")
    return EmbeddingSpace.objects.annotate(
        vector_count=Count("vectors", filter=counted), item_count=Count("vectors__item", distinct=True, filter=counted)
    ).order_by("-is_active", "-created_at")


def item_list_visible_to(*, viewer: AbstractBaseUser | AnonymousUser) -> QuerySet[Item]:
    """Public items, plus the viewer's own. Staff get no more here: the admin is where they see all."""
    return Item.objects.filter(_visible(viewer))


def is_demo_space(space: EmbeddingSpace | None) -> bool:
    """The bundled demo model: the page says what it can and cannot do."""
    from media_index.embedding.weights import DEMO_PRETRAINED

    return space is not None and space.pretrained == DEMO_PRETRAINED


def token_list_for_user(*, user_id: int) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user_id=user_id).order_by("-created_at")


def item_list_browse(
    *,
    viewer: AbstractBaseUser | AnonymousUser,
    kind: str | None = None,
    scope: str = "all",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Item]:
    """The library without a query: what ``viewer`` may see (``scope``: "all", "mine",
    "public"), newest first by when it was taken (EXIF), else uploaded, each annotated
    with ``shown_at`` and its ``month`` and ``day`` for grouping. Failed items are left out (they are
    in the owner's upload list, with their reason)."""
    items = item_list_visible_to(viewer=viewer)
    if scope == "mine":
        items = items.filter(owner_id=viewer.pk) if viewer.is_authenticated else items.none()
    elif scope == "public":
        items = items.filter(visibility=Item.Visibility.PUBLIC)
    if kind:
        items = items.filter(kind=kind)
    items = items.exclude(status=Item.Status.FAILED).annotate(shown_at=Coalesce("taken_at", "created_at"))
    if date_from and date_from > date.min:
        items = items.filter(shown_at__date__gte=date_from)
    if date_to and date_to < date.max:
        items = items.filter(shown_at__date__lte=date_to)
    return (items.annotate(day=TruncDate("shown_at"), month=TruncMonth("shown_at"))
            .select_related("owner").order_by("-shown_at", "-pk"))  # fmt: skip


def item_statuses_for_owner(*, owner_id: int, item_ids: list[int]) -> list[dict[str, object]]:
    """Status of some of one person's items (others' ids are ignored): what the upload
    page polls to show indexing progress without a reload."""
    rows = Item.objects.filter(owner_id=owner_id, pk__in=item_ids).order_by("pk")
    return [{"id": item.pk, "status": item.status, "label": str(item.get_status_display()),
             "failure_reason": item.failure_reason} for item in rows]  # fmt: skip
