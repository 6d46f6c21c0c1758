"""Readers' forms: asking to follow, and changing one's follows from the manage link."""

from django import forms

from profiles.models import Lab

from .models import Rhythm


class FollowForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    rhythm = forms.ChoiceField(label="How often", choices=Rhythm.choices, initial=Rhythm.DAILY, required=False)

    def clean_rhythm(self):
        # The lab page's small form may leave the rhythm out: daily, as the form shows first.
        return self.cleaned_data.get("rhythm") or Rhythm.DAILY


class ManageForm(forms.Form):
    rhythm = forms.ChoiceField(label="How often", choices=Rhythm.choices)
    everything = forms.BooleanField(label="Every lab", required=False)
    labs = forms.ModelMultipleChoiceField(
        label="Labs you follow", queryset=Lab.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Untick a lab to stop following it.",
    )

    def __init__(self, *args, follower, **kwargs):
        super().__init__(*args, **kwargs)
        # Only labs readers may see now: one unpublished or archived since it was followed is
        # not named here (Follower.change keeps its follow).
        self.fields["labs"].queryset = follower.labs.published().order_by("name")
