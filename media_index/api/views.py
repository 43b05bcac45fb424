"""API views: validate input, call one service or selector, serialise the result."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from media_index.api.serializers import ItemCreateSerializer, ItemSerializer, SpaceSerializer
from media_index.errors import InvalidInput
from media_index.models import Item
from media_index.selectors import item_list_for_owner, space_list_with_counts
from media_index.services.items import item_delete
from media_index.services.uploads import item_create_note, items_create_from_files


class ItemListCreateView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=ItemSerializer(many=True))
    def get(self, request: Request) -> Response:
        items = item_list_for_owner(owner_id=request.user.pk)
        if status_filter := request.query_params.get("status"):
            if status_filter not in Item.Status.values:
                raise InvalidInput(f"status must be one of: {', '.join(Item.Status.values)}.")
            items = items.filter(status=status_filter)
        return Response(ItemSerializer(items[:500], many=True).data)

    @extend_schema(request=ItemCreateSerializer, responses={201: ItemSerializer, 200: ItemSerializer})
    def post(self, request: Request) -> Response:
        serializer = ItemCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "text" in data:
            item, created = item_create_note(
                owner=request.user, text=data["text"], title=data.get("title", ""), visibility=data["visibility"]
            )
        else:
            outcomes = items_create_from_files(owner=request.user, files=[data["file"]], visibility=data["visibility"])
            if len(outcomes) != 1:
                raise InvalidInput("Upload zip files through the admin; the API takes one picture or note per request.")
            outcome = outcomes[0]
            if outcome.error or outcome.item is None:
                raise InvalidInput(outcome.error or "The file could not be added.")
            item, created = outcome.item, outcome.created
        return Response(ItemSerializer(item).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ItemDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=ItemSerializer)
    def get(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(item_list_for_owner(owner_id=request.user.pk), pk=pk)
        return Response(ItemSerializer(item).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(item_list_for_owner(owner_id=request.user.pk), pk=pk)
        item_delete(item=item)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SpaceListView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=SpaceSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(SpaceSerializer(space_list_with_counts(), many=True).data)
