"""Page and admin forms: they validate shapes; services decide what is acceptable content."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from media_index.models import Item


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
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(
        label=_("Files"),
        help_text=_("Pictures (JPEG, PNG, GIF, WebP, HEIC…), notes (.txt, .md) or a .zip of both."),
    )
    visibility = forms.ChoiceField(label=_("Who can see them"), choices=Item.Visibility.choices,
                                   initial=Item.Visibility.PRIVATE)


class NoteForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300, required=False)
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 6}))
    visibility = forms.ChoiceField(label=_("Who can see it"), choices=Item.Visibility.choices,
                                   initial=Item.Visibility.PRIVATE)
