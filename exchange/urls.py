from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from exchange.api import ApiRoot
from exchange.health import healthz
from exchange.tokens_api import TokenDetailApi, TokenListCreateApi
from greenfield.views import not_found as greenfield_not_found
from operations.metrics import metrics_view
from operations.views import operations_view
from web.throttles import throttled

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/operations/", operations_view, name="operations"),
    path("admin/login/", throttled(admin.site.login)),
    path("admin/", admin.site.urls),
    # Greenfield (BTCPay Server's API) under /api/v1/: its routes, then its 404 for any
    # other path there, so nothing under /api/v1/ is ever redirected (greenfield/urls.py).
    path("", include("greenfield.urls")),
    re_path(r"^api/v1(?:/.*)?$", greenfield_not_found),
    path("api/", ApiRoot.as_view(), name="api-root"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/tokens", TokenListCreateApi.as_view(), name="tokens"),
    path("api/tokens/<int:token_id>", TokenDetailApi.as_view(), name="token"),
    path("api/", include("wallets.urls")),
    path("api/", include("orders.urls")),
    path("api/", include("rates.urls")),
    path("api/", include("swaps.urls")),
    path("api/", include("webhooks.urls")),
    path("", include("web.urls")),
    # Login is throttled like the API; wrong passwords lock out (django-axes, settings).
    path("accounts/login/", throttled(auth_views.LoginView.as_view()), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
]
