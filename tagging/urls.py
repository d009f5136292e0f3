"""URLs of the people pages and face naming."""
from django.urls import path

from . import views

app_name = "tagging"
urlpatterns = [
    path("people/", views.people, name="people"),
    path("people/<int:pk>/", views.person_detail, name="person_detail"),
    path("faces/name-group/", views.faces_name_group, name="faces_name_group"),
    path("faces/<int:pk>/name/", views.face_name, name="face_name"),
    path("faces/<int:pk>/clear/", views.face_clear, name="face_clear"),
    path("faces/<int:pk>.jpg", views.face_thumbnail, name="face_thumbnail"),
]
