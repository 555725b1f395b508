from django.urls import path

from swaps import api

urlpatterns = [
    path("quotes", api.QuoteCreateApi.as_view(), name="quotes"),
]
