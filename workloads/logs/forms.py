"""What a reader may ask of a log page: plain GET forms, so that a page without JavaScript reads the same."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from workloads.logs.reading import ContainerChoice, RevisionChoice

DEFAULT_TAIL = 500
DEFAULT_WORKLOAD_TAIL = 100
MAX_TAIL = 10_000
SINCE_CHOICES = [
    ("", _("any time")),
    ("300", _("last 5 minutes")),
    ("900", _("last 15 minutes")),
    ("3600", _("last hour")),
    ("21600", _("last 6 hours")),
    ("86400", _("last 24 hours")),
]


class LogForm(forms.Form):
    tail = forms.IntegerField(
        label=_("last lines"),
        required=False,
        min_value=1,
        max_value=MAX_TAIL,
        error_messages={
            "min_value": _("Ask for at least 1 line."),
            "max_value": _("At most %(limit_value)s lines can be shown at once; use “since” to go further back."),
            "invalid": _("The number of lines must be a whole number."),
        },
    )
    since = forms.ChoiceField(label=_("since"), required=False, choices=SINCE_CHOICES)
    timestamps = forms.BooleanField(label=_("timestamps"), required=False)
    wrap = forms.BooleanField(label=_("wrap lines"), required=False)
    q = forms.CharField(label=_("search"), required=False, max_length=200)
    default_tail = DEFAULT_TAIL

    def tail_lines(self) -> int:
        return self.cleaned_data.get("tail") or self.default_tail

    def since_seconds(self) -> int | None:
        value = self.cleaned_data.get("since")
        return int(value) if value else None


class PodLogForm(LogForm):
    container = forms.ChoiceField(label=_("container"), required=False)
    previous = forms.BooleanField(label=_("previous instance"), required=False)

    def __init__(self, *args: object, containers: list[ContainerChoice], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.containers = containers
        self.fields["container"].choices = [("", _("choose a container…"))] + [(c.name, c.label) for c in containers]
        self.fields["container"].error_messages["invalid_choice"] = _(
            "This Pod has no container %(value)s. Choose one of the list."
        )

    def chosen(self) -> ContainerChoice | None:
        name = self.cleaned_data.get("container")
        if not name:
            app = [c for c in self.containers if not c.init]
            return app[0] if len(app) == 1 and not any(c.init for c in self.containers) else None
        return next(c for c in self.containers if c.name == name)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("previous") and "container" in data:
            chosen = self.chosen()
            if chosen is not None and not chosen.has_previous:
                self.add_error(
                    "previous",
                    _("Container %(c)s has not restarted: there is no previous instance to read.") % {"c": chosen.name},
                )
        return data


class WorkloadLogForm(LogForm):
    revision = forms.ChoiceField(label=_("Pods"), required=False)
    container = forms.ChoiceField(label=_("container"), required=False)
    default_tail = DEFAULT_WORKLOAD_TAIL

    def __init__(self, *args: object, revisions: list[RevisionChoice], containers: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["revision"].choices = [("", _("every Pod"))] + [(r.key, r.label) for r in revisions]
        self.fields["revision"].error_messages["invalid_choice"] = _("No such revision: %(value)s.")
        self.fields["container"].choices = [("", _("every app container"))] + [(c, c) for c in containers]
        self.fields["container"].error_messages["invalid_choice"] = _("No Pod here has a container %(value)s.")
