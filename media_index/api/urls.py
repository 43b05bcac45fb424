from django.urls import path

from media_index.api import views

app_name = "api"

urlpatterns = [
    path("search/", views.SearchView.as_view(), name="search"),
    path("items/", views.ItemListCreateView.as_view(), name="item-list"),
    path("items/<int:pk>/", views.ItemDetailView.as_view(), name="item-detail"),
    path("items/<int:pk>/similar/", views.SimilarView.as_view(), name="item-similar"),
    path("items/<int:pk>/thumbnail/", views.ItemThumbnailView.as_view(), name="item-thumbnail"),
    path("items/<int:pk>/file/", views.ItemOriginalView.as_view(), name="item-file"),
    path("spaces/", views.SpaceListView.as_view(), name="space-list"),
    path("auth/token/", views.TokenView.as_view(), name="token"),
    path("auth/tokens/", views.TokenListView.as_view(), name="token-list"),
    path("auth/tokens/<int:token_id>/", views.TokenDetailView.as_view(), name="token-detail"),
]
