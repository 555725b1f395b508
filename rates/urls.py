from django.urls import path

from rates import api

urlpatterns = [
    path("rates", api.RatesApi.as_view(), name="rates"),
    path("quotes", api.QuoteCreateApi.as_view(), name="quotes"),
]
