"""Admin actions that ask for a reason (and any other input) before calling a service."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from exchange.errors import ApplicationError


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


def confirmed_action(
    *,
    name: str,
    title: str,
    explanation: str,
    call: Callable,
    form_class: type[forms.Form] = ReasonForm,
    single: bool = False,
):
    """Build an admin action: first a page asking for the form, then ``call(obj, user,
    **cleaned_data)`` for every selected object, each error reported by name. A call that
    returns a pending approval (``staff.services.approvals``) is reported as waiting."""

    def action(modeladmin, request, queryset):
        if single and queryset.count() != 1:
            modeladmin.message_user(request, f"{title}: select exactly one", messages.ERROR)
            return None
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done, waiting = 0, []
            for obj in queryset:
                try:
                    pending = call(obj, request.user, **form.cleaned_data)
                except (ApplicationError, ValueError) as exc:
                    modeladmin.message_user(request, f"{obj}: {exc}", messages.ERROR)
                    continue
                if pending:
                    waiting.extend(pending if isinstance(pending, list) else [pending])
                else:
                    done += 1
            if done:
                modeladmin.message_user(request, f"{title}: {done} done", messages.SUCCESS)
            if waiting:
                modeladmin.message_user(
                    request,
                    f"{title}: waiting for a second staff member's approval "
                    f"({', '.join(str(a) for a in waiting)})",
                    messages.WARNING,
                )
            return None
        return TemplateResponse(
            request,
            "admin/action_form.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": title,
                "explanation": explanation,
                "queryset": queryset,
                "form": form,
                "action": name,
                "opts": modeladmin.model._meta,
            },
        )

    action.__name__ = name
    return admin.action(description=title, permissions=["change"])(action)
