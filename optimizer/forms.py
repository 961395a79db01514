from __future__ import annotations

from django import forms

from optimizer.models import Bullet


class BulletTextForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 8, "class": "wide"}), strip=True)

    def __init__(self, *args, bullet_pk: int, **kwargs):
        # Several bullets can be edited on one queue page: each form's ids carry its bullet's number.
        super().__init__(*args, auto_id=f"edit-{bullet_pk}-%s", **kwargs)


class MergeForm(forms.Form):
    """Two or more open or approved bullets of a project, the one that survives, and its text."""

    bullets = forms.ModelMultipleChoiceField(
        queryset=Bullet.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    survivor = forms.ModelChoiceField(
        queryset=Bullet.objects.none(), widget=forms.RadioSelect, empty_label=None
    )
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "class": "wide"}),
        strip=True,
        label="Text of the merged bullet",
        help_text="The one feedback string that stands for all of them.",
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        mergeable = Bullet.objects.filter(
            project=project, status__in=[Bullet.Status.OPEN, Bullet.Status.APPROVED]
        ).select_related("item")
        self.fields["bullets"].queryset = mergeable
        self.fields["survivor"].queryset = mergeable

    def clean(self):
        data = super().clean()
        if "bullets" in data and "survivor" in data and data["survivor"] not in data["bullets"]:
            self.add_error("survivor", "The surviving bullet must be one of those merged.")
        return data


class InstructionForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "class": "wide"}),
        strip=True,
        label="Instruction",
        help_text=(
            "A general rule in your own words: no phrase copied from a document, no query keywords, "
            "no user names."
        ),
    )


class InstructionFromBulletsForm(InstructionForm):
    bullets = forms.ModelMultipleChoiceField(
        queryset=Bullet.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].label = "The instruction, in your own words"
        self.fields["bullets"].queryset = Bullet.objects.filter(
            project=project, status=Bullet.Status.APPROVED
        ).select_related("item")
