from django.urls import path

from metrics_ui.views import accounts, metrics

urlpatterns = [
    path("", metrics.home, name="home"),
    path("login/", accounts.login, name="login"),
    path("logout/", accounts.logout, name="logout"),
]
