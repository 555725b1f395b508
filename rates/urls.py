from django.urls import path

from rates import api

urlpatterns = [
    path("rates", api.RatesApi.as_view(), name="rates"),
]
