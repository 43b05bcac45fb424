"""API views: validate input, call one service or selector, serialise the result."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from media_index.api.parsers import SafeJSONParser
from media_index.api.serializers import (
    ApiTokenSerializer,
    ItemCreateSerializer,
    ItemSerializer,
    SearchImageSerializer,
    SearchQuerySerializer,
    SearchResponseSerializer,
    SpaceStatusSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from media_index.auth_backends import sign_in_wait_of
from media_index.errors import InvalidInput
from media_index.forms import sign_in_locked_message
from media_index.models import ApiToken, Item
from media_index.search.service import search_by_query, search_similar
from media_index.search.snippets import shown_hits
from media_index.search.types import SearchFilters, SearchResult
from media_index.selectors import (
    item_list_for_owner,
    item_list_visible_to,
    space_list_with_counts,
    token_list_for_user,
)
from media_index.services.files import item_file_response
from media_index.services.images import query_image_too_large
from media_index.services.items import item_delete
from media_index.services.tokens import token_create, token_lifetime_days, token_revoke
from media_index.services.uploads import item_create_note, items_create_from_files

# Items per page of GET /items/ (also the default, as before paging existed).
ITEM_PAGE_MAX = 500


def _bounded_int(raw: str | None, name: str, default: int, *, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number.") from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}.")
    return value


class AnonSearchThrottle(AnonRateThrottle):
    scope = "search_anon"


class UserSearchThrottle(UserRateThrottle):
    scope = "search_user"


SEARCH_THROTTLES = [AnonSearchThrottle, UserSearchThrottle]


def _filters(data: dict[str, Any]) -> SearchFilters:
    return SearchFilters(kind=data.get("kind"), scope=data["scope"], date_from=data.get("date_from"),
                         date_to=data.get("date_to"), sort=data["sort"])  # fmt: skip


def _page(request: Request, result: SearchResult, data: dict[str, Any]) -> Response:
    hits = result.hits + (result.weaker if data["include_weaker"] else [])
    size, page = data["page_size"], data["page"]
    pages = max(1, math.ceil(len(hits) / size))
    body = {
        "space": result.space,
        "mode": result.mode,
        "count": len(result.hits),
        "weaker_count": len(result.weaker),
        "page": page,
        "pages": pages,
        "results": shown_hits(hits[(page - 1) * size : page * size]),
    }
    context = {"request": request, "space_id": result.space.pk}
    return Response(SearchResponseSerializer(body, context=context).data)


class SearchView(APIView):
    permission_classes = [permissions.AllowAny]
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = SEARCH_THROTTLES

    @extend_schema(parameters=[SearchQuerySerializer], responses=SearchResponseSerializer,
                   summary="Search by words")  # fmt: skip
    def get(self, request: Request) -> Response:
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        result = search_by_query(viewer=request.user, text=data.get("q", ""), filters=_filters(data),
                                 space_id=data.get("space"), mode=data.get("mode"))  # fmt: skip
        return _page(request, result, data)

    @extend_schema(request={"multipart/form-data": SearchImageSerializer}, responses=SearchResponseSerializer,
                   summary="Search by a picture (optionally with words)")  # fmt: skip
    def post(self, request: Request) -> Response:
        form = SearchImageSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        upload = data.get("image")
        # Refused by size before it is read into memory (the parser spooled it to disk).
        if upload is not None and upload.size > settings.QUERY_IMAGE_MAX_BYTES:
            raise InvalidInput(query_image_too_large())
        image = upload.read() if upload else None
        result = search_by_query(viewer=request.user, text=data.get("q", ""), image=image, filters=_filters(data),
                                 space_id=data.get("space"), mode=data.get("mode"))  # fmt: skip
        return _page(request, result, data)


class SimilarView(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = SEARCH_THROTTLES

    @extend_schema(parameters=[SearchQuerySerializer], responses=SearchResponseSerializer,
                   summary="More like this item")  # fmt: skip
    def get(self, request: Request, pk: int) -> Response:
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        item = get_object_or_404(item_list_visible_to(viewer=request.user), pk=pk)
        result = search_similar(viewer=request.user, item=item, filters=_filters(data), space_id=data.get("space"))
        return _page(request, result, data)


class ItemListCreateView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser, SafeJSONParser]
    throttle_scope = "upload"

    def get_throttles(self) -> list[Any]:
        # Only creating is rate-limited; listing your own items is cheap.
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=Item.Status.values),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"1 to {ITEM_PAGE_MAX} (default {ITEM_PAGE_MAX})"),
            OpenApiParameter("offset", OpenApiTypes.INT, description="items to skip (default 0)"),
        ],
        responses=ItemSerializer(many=True),
        description="Your items, newest first. X-Total-Count gives the total; a Link header points to the next page.",
    )
    def get(self, request: Request) -> Response:
        items = item_list_for_owner(owner_id=request.user.pk)
        if status_filter := request.query_params.get("status"):
            if status_filter not in Item.Status.values:
                raise InvalidInput(f"status must be one of: {', '.join(Item.Status.values)}.")
            items = items.filter(status=status_filter)
        limit = _bounded_int(request.query_params.get("limit"), "limit", ITEM_PAGE_MAX, low=1, high=ITEM_PAGE_MAX)
        offset = _bounded_int(request.query_params.get("offset"), "offset", 0, low=0, high=10**9)
        total = items.count()
        response = Response(
            ItemSerializer(items[offset : offset + limit], many=True, context={"request": request}).data
        )
        response["X-Total-Count"] = str(total)
        if offset + limit < total:
            params = request.query_params.copy()
            params["offset"], params["limit"] = str(offset + limit), str(limit)
            response["Link"] = f'<{request.build_absolute_uri(request.path)}?{params.urlencode()}>; rel="next"'
        return response

    @extend_schema(request={"multipart/form-data": ItemCreateSerializer, "application/json": ItemCreateSerializer},
                   responses={201: ItemSerializer, 200: ItemSerializer})  # fmt: skip
    def post(self, request: Request) -> Response:
        serializer = ItemCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "text" in data:
            item, created = item_create_note(
                owner=request.user, text=data["text"], title=data.get("title", ""), visibility=data["visibility"]
            )
        else:
            outcomes = items_create_from_files(owner=request.user, files=[data["file"]], visibility=data["visibility"],
                                               expand_zips=False, keep_location=data["keep_location"])  # fmt: skip
            outcome = outcomes[0]
            if outcome.error or outcome.item is None:
                raise InvalidInput(outcome.error or "The file could not be added.")
            item, created = outcome.item, outcome.created
        return Response(
            ItemSerializer(item, context={"request": request}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ItemDetailView(APIView):
    """Anyone may read a public item; private items only their owner. Only owners delete."""

    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    @extend_schema(responses=ItemSerializer)
    def get(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(item_list_visible_to(viewer=request.user), pk=pk)
        return Response(ItemSerializer(item, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(item_list_for_owner(owner_id=request.user.pk), pk=pk)
        item_delete(item=item)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ItemThumbnailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY}, summary="The item's thumbnail (JPEG)")
    def get(self, request: Request, pk: int) -> FileResponse:
        item = get_object_or_404(item_list_visible_to(viewer=request.user), pk=pk)
        return item_file_response(item=item, which="thumbnail")


class ItemOriginalView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
                   summary="The uploaded file")  # fmt: skip
    def get(self, request: Request, pk: int) -> FileResponse:
        item = get_object_or_404(item_list_visible_to(viewer=request.user), pk=pk)
        return item_file_response(item=item, which="original")


class SpaceListView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=SpaceStatusSerializer(many=True))
    def get(self, request: Request) -> Response:
        spaces = space_list_with_counts(viewer=request.user)
        return Response(SpaceStatusSerializer(spaces, many=True, context={"request": request}).data)


class TokenView(APIView):
    """Exchange a user name and password for a new API token, or revoke the token in use.

    Each call creates a separate token (one per phone or script), so revoking one client
    does not log out the others; see /auth/tokens/ to list and revoke them.
    """

    permission_classes = [permissions.AllowAny]
    parser_classes = [SafeJSONParser, FormParser, MultiPartParser]
    throttle_scope = "token"
    throttle_classes = [ScopedRateThrottle]

    @extend_schema(request=TokenRequestSerializer, responses={201: TokenSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        form = TokenRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = authenticate(request=request._request, username=form.validated_data["username"],
                            password=form.validated_data["password"])  # fmt: skip
        wait = sign_in_wait_of(request._request)
        if wait:
            raise Throttled(wait=wait, detail=sign_in_locked_message(wait))
        if user is None or not user.is_active:
            raise InvalidInput("Wrong user name or password.")
        days = token_lifetime_days(form.validated_data.get("expires_in_days"))
        token, key = token_create(user=user, name=form.validated_data.get("name", ""), days=days)
        data = {**ApiTokenSerializer(token, context={"request": request}).data, "token": key}
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        if not isinstance(request.auth, ApiToken):
            raise InvalidInput("Send the token to revoke in the Authorization header.")
        token_revoke(user=request.user, token_id=request.auth.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenListView(APIView):
    """The caller's API tokens (never their keys)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=ApiTokenSerializer(many=True))
    def get(self, request: Request) -> Response:
        tokens = token_list_for_user(user_id=request.user.pk)
        return Response(ApiTokenSerializer(tokens, many=True, context={"request": request}).data)


class TokenDetailView(APIView):
    """Revoke one of the caller's tokens (a lost phone, say)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, token_id: int) -> Response:
        if not token_revoke(user=request.user, token_id=token_id):
            raise NotFound("No such token.")
        return Response(status=status.HTTP_204_NO_CONTENT)
