from django.urls import path

from media_index.api import views

app_name = "api"

urlpatterns = [
    path("items/", views.ItemListCreateView.as_view(), name="item-list"),
    path("items/<int:pk>/", views.ItemDetailView.as_view(), name="item-detail"),
    path("spaces/", views.SpaceListView.as_view(), name="space-list"),
]
