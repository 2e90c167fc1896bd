from django.conf import settings
from django.http import HttpRequest


def console(request: HttpRequest) -> dict:
    return {
        "DEMO_LOGIN_ENABLED": settings.DEMO_LOGIN_ENABLED,
        "SUPPORT_CONTACT": settings.SUPPORT_CONTACT,
        "request_id": getattr(request, "request_id", ""),
    }
