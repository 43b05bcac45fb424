from django.urls import path

from media_index import views

app_name = "media_index"

urlpatterns = [
    path("", views.home, name="home"),
    path("upload/", views.upload, name="upload"),
    path("upload/status/", views.upload_status, name="upload-status"),
    path("query-pictures/<str:picture_id>.jpg", views.query_picture_preview, name="query-picture"),
    path("items/bulk/", views.items_bulk, name="items-bulk"),
    path("items/<int:pk>/", views.item_detail, name="item-detail"),
    path("items/<int:pk>/similar/", views.item_similar, name="item-similar"),
    path("items/<int:pk>/delete/", views.item_remove, name="item-delete"),
    path("items/<int:pk>/thumbnail/", views.item_thumbnail, name="item-thumbnail"),
    path("items/<int:pk>/file/", views.item_file, name="item-file"),
]
