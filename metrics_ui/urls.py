from django.urls import path

from metrics_ui.accounts import users_views as user_views
from metrics_ui.accounts import views as accounts
from metrics_ui.audit import views as audit_views
from metrics_ui.metrics import chart_views
from metrics_ui.metrics import code_views as as_code
from metrics_ui.metrics import create_views as create
from metrics_ui.metrics import views as metrics
from metrics_ui.ops import views as ops
from metrics_ui.tokens import views as tokens

urlpatterns = [
    path("", metrics.home, name="home"),
    path("login/", accounts.login, name="login"),
    path("logout/", accounts.logout, name="logout"),
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/<int:pk>/replace/", tokens.token_replace, name="token_replace"),
    path("tokens/<int:pk>/delete/", tokens.token_delete, name="token_delete"),
    path("apps/<str:app_id>/", metrics.metric_list, name="metric_list"),
    path("apps/<str:app_id>/trends/", metrics.metric_trends, name="metric_trends"),
    path("apps/<str:app_id>/metrics/new/", create.metric_create, name="metric_create"),
    # Metrics as code: export, import with a plan, and the console's notes on a metric.
    path("apps/<str:app_id>/export/", as_code.metric_export, name="metric_export"),
    path("apps/<str:app_id>/import/", as_code.metric_import, name="metric_import"),
    path("apps/<str:app_id>/metrics/<str:name>/notes/", as_code.metric_notes, name="metric_notes"),
    path("apps/<str:app_id>/metrics/<str:name>/adopt/", as_code.metric_adopt, name="metric_adopt"),
    path("apps/<str:app_id>/metrics/<str:name>/", metrics.metric_detail, name="metric_detail"),
    path("apps/<str:app_id>/metrics/<str:name>/chart/", chart_views.metric_chart, name="metric_chart"),
    path("apps/<str:app_id>/metrics/<str:name>/delete/", metrics.metric_delete, name="metric_delete"),
    path("apps/<str:app_id>/metrics/<str:name>/copy/", create.metric_copy, name="metric_copy"),
    # Sign-in refusals, break-glass, the audit trail and user admin.
    path("no-access/", accounts.no_access, name="no_access"),
    path("breakglass/<str:uidb64>/<str:token>/", accounts.breakglass_login, name="breakglass_login"),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
    path("users/", user_views.user_list, name="user_list"),
    path("users/<int:pk>/deactivate/", user_views.user_deactivate, name="user_deactivate"),
    path("users/<int:pk>/reactivate/", user_views.user_reactivate, name="user_reactivate"),
    path("users/<int:pk>/end-sessions/", user_views.user_end_sessions, name="user_end_sessions"),
    # For operators' machines: probes and Prometheus (no sign-in; see metrics_ui/ops/views.py).
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.prometheus_metrics, name="prometheus_metrics"),
]
