from django.urls import path

from metrics_ui.views import accounts, create, metrics, tokens

urlpatterns = [
    path("", metrics.home, name="home"),
    path("login/", accounts.login, name="login"),
    path("logout/", accounts.logout, name="logout"),
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/<int:pk>/replace/", tokens.token_replace, name="token_replace"),
    path("tokens/<int:pk>/delete/", tokens.token_delete, name="token_delete"),
    path("apps/<str:app_id>/", metrics.metric_list, name="metric_list"),
    path("apps/<str:app_id>/metrics/new/", create.metric_create, name="metric_create"),
    path("apps/<str:app_id>/metrics/<str:name>/", metrics.metric_detail, name="metric_detail"),
    path("apps/<str:app_id>/metrics/<str:name>/delete/", metrics.metric_delete, name="metric_delete"),
    path("apps/<str:app_id>/metrics/<str:name>/copy/", create.metric_copy, name="metric_copy"),
]
