"""Admins: the console's users, deactivating one, and ending someone's sessions."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from metrics_ui import navigation
from metrics_ui.accounts.permissions import admin_required
from metrics_ui.accounts.sessions import end_sessions
from metrics_ui.audit import trail as audit

PAGE_SIZE = 50


@require_GET
@admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    users = get_user_model().objects.order_by("-is_active", "email", "username")
    search = request.GET.get("q", "").strip()[:254]
    if search:
        users = users.filter(Q(email__icontains=search) | Q(username__icontains=search))
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    fragment = navigation.wants_part(request)
    template = "users/list.html#user-table" if fragment else "users/list.html"
    return render(request, template, {"users": page.object_list, "page": page, "page_obj": page, "q": search})


@require_POST
@admin_required
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """The person can no longer sign in (SSO and proxy sign-ins refuse them) and every session
    they have ends now."""
    user = get_object_or_404(get_user_model(), pk=pk)
    if user.pk == request.user.pk:
        messages.error(request, "You can't deactivate your own account.")
        return redirect("user_list")
    user.is_active = False
    user.save(update_fields=["is_active"])
    _sign_out_everywhere(request, user, "user.deactivate")
    messages.success(request, f"{_name(user)} is deactivated and signed out everywhere.")
    return redirect("user_list")


@require_POST
@admin_required
def user_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Lets a deactivated person sign in again (their role still comes from the IdP's groups)."""
    user = get_object_or_404(get_user_model(), pk=pk)
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit.record(request, "user.reactivate", outcome="success", detail=user.get_username())
    messages.success(request, f"{_name(user)} may sign in again.")
    return redirect("user_list")


@require_POST
@admin_required
def user_end_sessions(request: HttpRequest, pk: int) -> HttpResponse:
    """Signs the person out everywhere; they can sign in again (and the IdP's groups apply anew)."""
    user = get_object_or_404(get_user_model(), pk=pk)
    _sign_out_everywhere(request, user, "user.end_sessions")
    messages.success(request, f"{_name(user)} is signed out everywhere.")
    if user.pk == request.user.pk:
        return redirect("login")
    return redirect("user_list")


def _name(user) -> str:
    return user.email or user.get_username()


def _sign_out_everywhere(request: HttpRequest, user, action: str) -> None:
    detail = f"{user.get_username()}: {end_sessions(user)} session(s) ended"
    audit.record(request, action, outcome="success", detail=detail)
