"""Stores and Greenfield API keys in the admin: both made through the services, a new key
shown once (a message on the next page), keys revoked, never edited."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from exchange.errors import ApplicationError
from stores.models import PAYMENT_METHODS, ApiKey, Store
from stores.services import (
    STORE_FIELDS,
    api_key_create,
    api_key_permissions_clean,
    api_key_revoke_by_staff,
    store_create,
    store_fields_clean,
    store_update,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _staff(request: HttpRequest) -> User:
    """The staff member acting (only signed-in staff reach the admin)."""
    return cast("User", request.user)


def _add_error(form: forms.BaseForm, error: ApplicationError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


class StoreAdminForm(forms.ModelForm):
    payment_methods = forms.MultipleChoiceField(
        choices=[(m, m) for m in PAYMENT_METHODS], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Store
        fields = ["owner", *STORE_FIELDS, "archived"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        given = {field: data[field] for field in STORE_FIELDS if field in data}
        if len(given) == len(STORE_FIELDS):
            try:
                store_fields_clean(**given)
            except ApplicationError as error:
                _add_error(self, error)
        return data


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    form = StoreAdminForm
    list_display = ("public_id", "name", "owner", "default_currency", "settlement", "archived")
    list_filter = ("archived", "settlement", "speed_policy")
    search_fields = ("public_id", "name", "owner__username")
    readonly_fields = ("public_id", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Store | None = None) -> Any:
        # A store's keys name it by its id and act for its owner: neither ever changes.
        return ("owner", *self.readonly_fields) if obj is not None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Store | None = None) -> bool:
        return False  # archive it instead: invoices and keys refer to it

    def save_model(self, request: HttpRequest, obj: Store, form: Any, change: bool) -> None:
        fields = {field: form.cleaned_data[field] for field in STORE_FIELDS}
        if change:
            store_update(store=obj, archived=form.cleaned_data["archived"], **fields)
            return
        created = store_create(owner=form.cleaned_data["owner"], **fields)
        if form.cleaned_data["archived"]:
            store_update(store=created, archived=True)
        obj.pk = created.pk
        obj.public_id = created.public_id


class ApiKeyAdminForm(forms.ModelForm):
    permissions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "cols": 90}),
        help_text=(
            "One Greenfield permission a line: a policy alone (all the owner's stores) or"
            " with a store id, e.g. btcpay.store.canviewinvoices:{storeId}."
        ),
    )

    class Meta:
        model = ApiKey
        fields = ["owner", "label", "permissions"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        lines = [line.strip() for line in data.get("permissions", "").splitlines()]
        data["permissions"] = [line for line in lines if line]
        if data.get("owner") is not None:
            try:
                api_key_permissions_clean(owner=data["owner"], permissions=data["permissions"])
            except ApplicationError as error:
                _add_error(self, error)
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Staff see whose keys exist and what they may do, make keys for merchants and revoke
    them. The key itself is shown once, when it is made; only its digest is kept, and the
    digest is not shown either."""

    list_display = ("id", "owner", "label", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("owner__username", "label", "prefix")
    actions = ["revoke"]

    def get_form(
        self, request: HttpRequest, obj: ApiKey | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyAdminForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return ("owner", "label", "permissions")
        return (
            "owner",
            "label",
            "prefix",
            "permissions",
            "created_at",
            "last_used_at",
            "revoked_at",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return self.get_fields(request, obj) if obj is not None else ()

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        key, plaintext = api_key_create(
            owner=form.cleaned_data["owner"],
            label=form.cleaned_data["label"],
            permissions=form.cleaned_data["permissions"],
        )
        obj.pk = key.pk
        messages.warning(
            request,
            f"API key “{key.label}” (shown once; give it to the shop, it is not kept): {plaintext}",
        )

    def delete_model(self, request: HttpRequest, obj: ApiKey) -> None:
        api_key_revoke_by_staff(actor=_staff(request), key=obj, reason="revoked in the admin")

    @admin.action(description="Revoke the selected keys", permissions=["delete"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset)
        for key in keys:
            api_key_revoke_by_staff(actor=_staff(request), key=key, reason="revoked in the admin")
        messages.success(request, f"{len(keys)} key(s) revoked.")
