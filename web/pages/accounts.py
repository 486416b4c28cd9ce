"""Login, logout and the (first-login) password change."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpResponse
from django.urls import path, reverse_lazy

from web import audit


class Login(auth_views.LoginView):
    """The login form (throttled by django-axes; the audit signals record each try)."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordChange(auth_views.PasswordChangeView):
    """Change one's own password; clears must_change_password; audited."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form: Any) -> HttpResponse:
        """Save, keep the session, record the change (never the password)."""
        user = self.request.user
        forced = user.must_change_password
        with transaction.atomic():  # the new password and its audit entry, or neither
            response = super().form_valid(form)
            user.must_change_password = False
            user.save(update_fields=["must_change_password"])
            audit.record(self.request, "password.change", {"forced": forced})
        return response


urlpatterns = [
    path("login/", login_not_required(Login.as_view()), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", PasswordChange.as_view(), name="password_change"),
]
