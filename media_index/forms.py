"""Page and admin forms: they validate shapes; services decide what is acceptable content."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from media_index.auth_backends import sign_in_wait_of
from media_index.models import Item


def sign_in_locked_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed sign-in attempts. Please try again in %(minutes)d minute.",
        "Too many failed sign-in attempts. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


class _ThrottledSignIn:
    """Says "try again in N minutes" instead of "wrong password" when the sign-in was
    refused by the throttle (``auth_backends.ThrottledModelBackend``)."""

    request: Any

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            wait = sign_in_wait_of(self.request)
            if wait:
                raise forms.ValidationError(sign_in_locked_message(wait), code="throttled") from None
            raise


class SignInForm(_ThrottledSignIn, AuthenticationForm):
    pass


class AdminSignInForm(_ThrottledSignIn, AdminAuthenticationForm):
    pass


class PasswordChangeRevokingTokensForm(PasswordChangeForm):
    """Django's form, telling the user what a change does to their apps (signals.py)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        notice = _("Changing your password signs out every app that uses an API token of yours; sign in there again.")
        self.fields["new_password1"].help_text = format_html("<p>{}</p>{}", notice,
                                                             self.fields["new_password1"].help_text)  # fmt: skip


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that accepts several files at once (Django's documented recipe)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, (list, tuple)):
            if not data and self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(
        label=_("Files"),
        help_text=_("Pictures (JPEG, PNG, GIF, WebP, HEIC…), notes (.txt, .md) or a .zip of both."),
    )
    visibility = forms.ChoiceField(
        label=_("Who can see them"), choices=Item.Visibility.choices, initial=Item.Visibility.PRIVATE
    )
    keep_location = forms.BooleanField(
        label=_("Keep where photos were taken"), required=False,
        help_text=_("Off: a photo's GPS location is removed from the stored file and not kept. On: it is kept, "
                    "and shown to you alone (anyone who may see a picture may download its file)."),
    )  # fmt: skip


class NoteForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300, required=False)
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 6}))
    visibility = forms.ChoiceField(
        label=_("Who can see it"), choices=Item.Visibility.choices, initial=Item.Visibility.PRIVATE
    )


class SearchForm(forms.Form):
    """The search page's query string; every field optional so a bare "/" is valid."""

    q = forms.CharField(required=False, max_length=1000, label=_("Search"))
    kind = forms.ChoiceField(
        required=False, label=_("Kind"), choices=[("", _("All")), ("image", _("Pictures")), ("note", _("Notes"))]
    )
    scope = forms.ChoiceField(
        required=False,
        label=_("Whose"),
        choices=[("all", _("Mine and public")), ("mine", _("Mine")), ("public", _("Public"))],
    )
    date_from = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(
        required=False, label=_("Sort"), choices=[("relevance", _("Best match")), ("date", _("Newest"))]
    )
    mode = forms.ChoiceField(required=False, label=_("Match"),
                             choices=[("", _("Meaning and words")), ("dense", _("Meaning only")),
                                      ("lexical", _("Exact words only"))])  # fmt: skip
    weaker = forms.BooleanField(required=False)
    iq = forms.RegexField(required=False, regex=r"^[0-9a-f]{32}$")
    page = forms.IntegerField(required=False, min_value=1, max_value=1000)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


class ImageQueryForm(forms.Form):
    image = forms.FileField(label=_("Search with a picture"))
