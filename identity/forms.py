"""The login page's forms: each POST names its `step`, and every form carries the flow fields.

The flow fields (`kid`, `redirect_url`, `state`) travel as hidden inputs so the page works
without JavaScript; the views validate them again on every POST (never trusted from the form).
"""

from __future__ import annotations

from django import forms

from identity.redirects import MAX_REDIRECT_LENGTH
from policies.hosts import ascii_hostname


class FlowForm(forms.Form):
    """The hidden fields that carry the sign-in flow from one step to the next."""

    kid = forms.CharField(required=False, max_length=64)
    # No max_length: a protected URL too long to come back to is not a broken link. The view
    # falls back to the application's root for it (identity.redirects.safe_redirect_url).
    redirect_url = forms.CharField(required=False, strip=False)
    state = forms.CharField(required=False, max_length=256)

    def clean_redirect_url(self) -> str:
        value: str = self.cleaned_data["redirect_url"]
        return "" if len(value) > MAX_REDIRECT_LENGTH else value


class PinRequestForm(forms.Form):
    """Step 1 of the one-time PIN: the address to send a code to."""

    email = forms.EmailField(label="Email", max_length=254)

    def clean_email(self) -> str:
        local, _, domain = str(self.cleaned_data["email"]).strip().rpartition("@")
        # Django's validator lets a few non-ASCII letters into the local part: its pattern is
        # case-insensitive, and dotless i, long s and the Kelvin sign fold to ASCII letters.
        # Such an identity is not the address it looks like, yet upper-cases to it in a
        # downstream `UPPER()` or `iexact` comparison ("adm\u0131n" -> "ADMIN"); nor can it be
        # delivered without SMTPUTF8. The domain goes into the one ASCII spelling mail systems
        # use (UTS #46: `claß` is `xn--cla-7ka`, not IDNA 2003's `class`, somebody else's).
        if not local.isascii():
            raise forms.ValidationError("Enter a valid email address.", code="invalid")
        ascii_domain = ascii_hostname(domain)
        if ascii_domain is None:
            raise forms.ValidationError("Enter a valid email address.", code="invalid")
        domain = ascii_domain
        # Addresses are compared case-insensitively everywhere (rules, throttles, PINs).
        return f"{local}@{domain}".lower()


class PinVerifyForm(PinRequestForm):
    """Step 2 of the one-time PIN: the code that was emailed."""

    code = forms.RegexField(label="Code", regex=r"^\s*[0-9]{6}\s*$", max_length=12)

    def clean_code(self) -> str:
        return str(self.cleaned_data["code"]).strip()


class PasswordForm(forms.Form):
    """Username and password of a Django user."""

    username = forms.CharField(label="Username", max_length=254)
    password = forms.CharField(label="Password", max_length=4096, strip=False)
