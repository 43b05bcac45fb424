from django.urls import path

from media_index import views

app_name = "media_index"

urlpatterns = [
    path("", views.home, name="home"),
    path("upload/", views.upload, name="upload"),
]
