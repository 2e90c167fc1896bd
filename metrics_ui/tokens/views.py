"""Each user's own Embrace API tokens: list, add, replace, remove.

These pages carry a secret in their forms, so they are never cached (``Cache-Control: no-store``),
never copied into browser storage (htmx 4 keeps no history snapshots) and mask the token
in Django's error reports (``sensitive_post_parameters``). A token that is not the user's own is a
404, never a 403, so its existence is not revealed.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from metrics_ui import navigation
from metrics_ui.accounts.permissions import viewer_required
from metrics_ui.audit import trail as audit
from metrics_ui.models import ApiToken
from metrics_ui.ops import ratelimit
from metrics_ui.tokens.forms import TokenForm, TokenReplaceForm


def _back_to_list(request: HttpRequest) -> HttpResponse:
    # The forms are boosted (for the loading indicator); after a change, load the list as a full page.
    url = reverse("token_list")
    return navigation.go_to(request, url)


def _audit_body(token: ApiToken) -> dict:
    return {"label": token.label, "region": token.region, "app_ids": token.app_ids, "last4": token.last4}


@never_cache
@sensitive_post_parameters("token")
@require_http_methods(["GET", "POST"])
@viewer_required
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None, user=request.user)
    if request.method == "POST" and ratelimit.write_limited(request):  # before asking Embrace
        tokens = ApiToken.objects.filter(user=request.user).prefetch_related("apps")
        page = render(request, "tokens/list.html", {"form": ratelimit.hold(form), "tokens": tokens})
        return ratelimit.refused(request, page)
    if request.method == "POST" and form.is_valid() and (token := form.save()):
        audit.record(request, "token.add", body=_audit_body(token), outcome="success", detail=token.label)
        messages.success(
            request, f"Token “{token.label}” saved ({token.masked}). Its apps are on the Apps page."
        )
        return _back_to_list(request)
    tokens = ApiToken.objects.filter(user=request.user).prefetch_related("apps")
    return render(request, "tokens/list.html", {"form": form, "tokens": tokens})


@never_cache
@sensitive_post_parameters("token")
@require_http_methods(["GET", "POST"])
@viewer_required
def token_replace(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    form = TokenReplaceForm(request.POST or None, user=request.user, instance=token)
    if request.method == "POST" and ratelimit.write_limited(request):  # before asking Embrace
        page = render(request, "tokens/replace.html", {"form": ratelimit.hold(form), "token": token})
        return ratelimit.refused(request, page)
    if request.method == "POST" and form.is_valid() and form.save():
        audit.record(request, "token.replace", body=_audit_body(token), outcome="success", detail=token.label)
        messages.success(request, f"Token “{token.label}” replaced ({token.masked}).")
        return _back_to_list(request)
    return render(request, "tokens/replace.html", {"form": form, "token": token})


@never_cache
@require_http_methods(["GET", "POST"])
@viewer_required
def token_delete(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if request.method == "POST":
        body = _audit_body(token)
        token.delete()
        audit.record(request, "token.remove", body=body, outcome="success", detail=body["label"])
        messages.success(
            request, f"Token “{body['label']}” removed. Its apps no longer appear in the console."
        )
        return _back_to_list(request)
    return render(request, "tokens/delete.html", {"token": token})
