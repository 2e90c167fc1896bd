"""The real URL map plus one view that fails, to see the 500 page an unexpected fault produces."""

from django.urls import path

from dashboard.urls import handler500
from dashboard.urls import urlpatterns as console_urlpatterns

__all__ = ["handler500", "urlpatterns"]


def boom(request):
    raise RuntimeError("an unexpected fault with a secret-looking detail: token=should-not-show")


urlpatterns = [*console_urlpatterns, path("boom/", boom)]
