"""URLs of the search page and its autocomplete."""
from django.urls import path

from . import views

app_name = "search"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("search/suggest.json", views.suggest, name="suggest"),
]
