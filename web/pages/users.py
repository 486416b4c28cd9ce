"""The admin's users page: list, add, change role and villages, disable; all audited."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from web import accounts, policy, runtime
from web.nav import ROLE_LABELS, NavItem
from web.roles import ROLES

nav = NavItem(_("Users"), "users", "users.manage", order=80)


def _village_choices() -> list[tuple[str, str]]:
    return [(v.id, f"{v.name} ({v.id})") for v in runtime.config().villages]


class AccessForm(forms.Form):
    """Role and villages (the village role needs at least one, the others none)."""

    role = forms.ChoiceField(label=_("Role"), choices=[(r, ROLE_LABELS[r]) for r in ROLES])
    villages = forms.MultipleChoiceField(
        label=_("Villages"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checks"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["villages"].choices = _village_choices()

    def clean(self) -> dict[str, Any]:
        """Same rule as `pvledger users add`."""
        data = super().clean()
        role, villages = data.get("role"), data.get("villages") or []
        if role == "village" and not villages:
            self.add_error("villages", _("A village user needs at least one village."))
        if role and role != "village" and villages:
            self.add_error("villages", _("Only village users are limited to villages."))
        return data


class AddForm(AccessForm):
    """A new user with a one-time password (changed at first login)."""

    field_order = ("username", "role", "villages", "password")
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(
        label=_("One-time password"), widget=forms.PasswordInput(render_value=False), strip=False
    )

    def clean(self) -> dict[str, Any]:
        """The name is free and the password passes the validators."""
        data = super().clean()
        name = data.get("username") or ""
        for p in accounts.name_problems(name):
            self.add_error("username", p.message)
        for p in accounts.password_problems(data.get("password") or "", name):
            self.add_error("password", p.message)
        return data


@policy.requires("users.manage")
def users(request: HttpRequest) -> HttpResponse:
    """Every user with role, villages and state; the add form."""
    form = AddForm(request.POST or None) if request.method == "POST" else AddForm()
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        accounts.create(d["username"], d["role"], d["villages"], d["password"], request=request)
        messages.success(request, gettext("User %(name)s added.") % {"name": d["username"]})
        return redirect("users")
    people = get_user_model().objects.order_by("username")
    names = {v.id: v.name for v in runtime.config().villages}
    rows = [
        {
            "user": u,
            "role": ROLE_LABELS.get(u.role, u.role),
            "villages": [names.get(v, v) for v in u.villages],
        }
        for u in people
    ]
    return render(request, "users/users.html", {"rows": rows, "form": form})


@policy.requires("users.manage")
def user(request: HttpRequest, name: str) -> HttpResponse:
    """One user: change role and villages."""
    target = get_object_or_404(get_user_model(), username=name)
    initial = {"role": target.role, "villages": target.villages}
    form = (
        AccessForm(request.POST or None, initial=initial)
        if request.method == "POST"
        else AccessForm(initial=initial)
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        accounts.change(target, role=d["role"], villages=d["villages"], request=request)
        messages.success(request, gettext("User %(name)s changed.") % {"name": name})
        return redirect("users")
    return render(
        request, "users/user.html", {"target": target, "form": form, "reset": ResetForm()}
    )


class ResetForm(forms.Form):
    """A one-time password for a user who forgot theirs or was locked out."""

    password = forms.CharField(
        label=_("One-time password"), widget=forms.PasswordInput(render_value=False), strip=False
    )

    def __init__(self, *args: Any, username: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.username = username

    def clean_password(self) -> str:
        """Checked by the same validators as a new user's."""
        password = self.cleaned_data["password"]
        problems = accounts.password_problems(password, self.username)
        if problems:
            raise forms.ValidationError([p.message for p in problems])
        return password


@require_POST
@policy.requires("users.manage")
def reset_password(request: HttpRequest, name: str) -> HttpResponse:
    """Set a one-time password (changed at the next login); lifts a lockout; audited."""
    target = get_object_or_404(get_user_model(), username=name)
    form = ResetForm(request.POST, username=name)
    if form.is_valid():
        accounts.reset_password(target, form.cleaned_data["password"], request=request)
        messages.success(
            request, gettext("User %(name)s has a one-time password now.") % {"name": name}
        )
        return redirect("user", name=name)
    access = AccessForm(initial={"role": target.role, "villages": target.villages})
    return render(request, "users/user.html", {"target": target, "form": access, "reset": form})


@require_POST
@policy.requires("users.manage")
def set_active(request: HttpRequest, name: str) -> HttpResponse:
    """Disable or enable a user (not oneself: an admin cannot lock the last door)."""
    target = get_object_or_404(get_user_model(), username=name)
    active = request.POST.get("active") == "1"
    if target.pk == request.user.pk and not active:
        messages.error(request, gettext("You cannot disable yourself."))
    else:
        accounts.change(target, active=active, request=request)
        done = gettext("User %(name)s enabled.") if active else gettext("User %(name)s disabled.")
        messages.success(request, done % {"name": name})
    return redirect("users")


urlpatterns = [
    path("users/", users, name="users"),
    path("users/<str:name>/", user, name="user"),
    path("users/<str:name>/active/", set_active, name="user_active"),
    path("users/<str:name>/password/", reset_password, name="user_password"),
]
