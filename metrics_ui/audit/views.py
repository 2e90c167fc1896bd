"""The audit trail: browse, filter and export. Editors see their own records, admins everyone's.

There is deliberately no view that changes or removes a record.
"""

import csv

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from metrics_ui import navigation
from metrics_ui.accounts.permissions import editor_required
from metrics_ui.audit import trail as audit

PAGE_SIZE = 50


def _filtered(request: HttpRequest):
    form = audit.AuditFilterForm(request.GET or None, sees_everyone=request.user.is_console_admin)
    filters = {}
    if form.is_bound:
        form.is_valid()  # an invalid field is reported on the page; the valid ones still filter
        filters = form.cleaned_data
    return form, audit.records_for(request.user, filters)


@require_GET
@editor_required
def audit_log(request: HttpRequest) -> HttpResponse:
    form, records = _filtered(request)
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    for item in page.object_list:
        item.action_label = audit.ACTION_LABELS.get(item.action, item.action)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "page_obj": page,  # the name the shared pagination partial takes
        "query": query.urlencode(),
        "sees_everyone": request.user.is_console_admin,
    }
    fragment = navigation.wants_part(request)
    return render(request, "audit/list.html#audit-results" if fragment else "audit/list.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@editor_required
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered records as CSV; cells a spreadsheet would run as formulas are defused."""
    _form, records = _filtered(request)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in audit.csv_rows(records.iterator(chunk_size=500))),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
