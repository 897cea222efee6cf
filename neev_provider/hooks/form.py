"""The ``neevcloud`` connection form, as data.

Declared once, in :data:`EXTRA_FIELDS` and :data:`STANDARD_FIELDS`, and read twice: Airflow
3.2+ takes it from the provider info (``conn-fields`` and ``ui-field-behaviour``) without
importing the hook, so this module must not import Airflow; older versions get it from the
hook's ``get_ui_field_behaviour`` and ``get_connection_form_widgets``, built here by
:func:`connection_form_widgets` (which imports wtforms only when called).

What each UI makes of it: Airflow 3's React form shows the description under every extra
field, a required mark on a field whose schema type excludes ``null``, a drop-down for an
``enum``, a switch for a boolean, and the default as the initial value of a number. It
shows custom placeholders on the standard fields only; an extra text field gets a
placeholder ("Start typing to see options") only when it has ``examples``, offered as
suggestions, so every text field here has them (the documented id formats). Airflow 2's
form shows the ``placeholders`` on every field, extra fields included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: The defaults the client applies when the connection leaves these extras out.
DEFAULT_TIMEOUT = 30
DEFAULT_MAX_RETRIES = 2
AUTH_TYPES = ("token", "login")

Kind = Literal["string", "number", "integer", "boolean"]


@dataclass(frozen=True)
class ExtraField:
    """One field of the connection's ``extra``, as both form generations need it."""

    name: str
    label: str
    description: str
    placeholder: str
    kind: Kind = "string"
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    def conn_field(self) -> dict[str, Any]:
        """Return the ``conn-fields`` entry (a JSON schema with a label) of Airflow 3.2+."""
        # A type without "null" is what Airflow 3's form marks as required (and will not save empty).
        schema: dict[str, Any] = {"type": self.kind if self.required else [self.kind, "null"]}
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.default is not None:
            schema["default"] = self.default
        if self.examples:
            schema["examples"] = list(self.examples)
        return {"label": self.label, "description": self.description, "schema": schema}


EXTRA_FIELDS: tuple[ExtraField, ...] = (
    ExtraField(
        "org_id",
        "Organization ID",
        "Required. The organization that owns the volumes (console: Organization Settings), "
        "e.g. org-abc123. A task's org_id overrides it.",
        "org-abc123",
        required=True,
        examples=("org-abc123",),
    ),
    ExtraField(
        "project_id",
        "Project ID",
        "Required. The project the volumes belong to (console: Project Settings), e.g. prj-abc123. "
        "A task's project_id overrides it.",
        "prj-abc123",
        required=True,
        examples=("prj-abc123",),
    ),
    ExtraField(
        "region_id",
        "Default region",
        "Region of new volumes when a task sets no region_id, e.g. as-south-1.",
        "as-south-1",
        examples=("as-south-1",),
    ),
    ExtraField(
        "auth_type",
        "Auth type",
        "token: API token holds a personal access token (pat-nc-…). "
        "login: E-mail and API token hold the account's e-mail and password.",
        "token",
        required=True,
        default="token",
        choices=AUTH_TYPES,
    ),
    ExtraField(
        "timeout",
        "Request timeout (s)",
        f"Seconds to wait for a connection and for each answer (default {DEFAULT_TIMEOUT}).",
        str(DEFAULT_TIMEOUT),
        kind="number",
        default=DEFAULT_TIMEOUT,
    ),
    ExtraField(
        "max_retries",
        "Max retries",
        "Retries of a call after a network error, 429 or 5xx, with backoff; 0 disables them "
        f"(default {DEFAULT_MAX_RETRIES}).",
        str(DEFAULT_MAX_RETRIES),
        kind="integer",
        default=DEFAULT_MAX_RETRIES,
    ),
    ExtraField(
        "verify",
        "Verify TLS certificates",
        'On by default. For a private CA, set "verify": "/path/to/ca-bundle.pem" in the Extra JSON.',
        "true",
        kind="boolean",
        default=True,
    ),
    ExtraField(
        "console_url",
        "Console URL template",
        "A link on volume tasks to the volume in your console; {org_id}, {project_id}, {region_id} "
        "and {volume_id} are filled in. No link when empty (NeevCloud documents no console URLs).",
        "https://console.example.com/{org_id}/{project_id}/volumes/{volume_id}",
    ),
)

#: The standard fields: hidden ones, and labels and placeholders of the shown ones.
HIDDEN_FIELDS = ["schema", "port"]
STANDARD_FIELDS: dict[str, tuple[str, str]] = {
    "host": ("API base URL", "https://api.ai.neevcloud.com"),
    "login": ("E-mail (login mode only)", "you@example.com"),
    "password": ("API token", "pat-nc-… (the account password in login mode)"),
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": HIDDEN_FIELDS,
    "relabeling": {name: label for name, (label, _) in STANDARD_FIELDS.items()},
    "placeholders": {
        **{name: placeholder for name, (_, placeholder) in STANDARD_FIELDS.items()},
        **{field.name: field.placeholder for field in EXTRA_FIELDS},
    },
}

#: The same behaviour as the hook's ``get_ui_field_behaviour`` returns it: that older interface
#: spells the key ``hidden_fields`` (Airflow's ``customized_form_field_behaviours.schema.json``),
#: where the provider info spells it ``hidden-fields``. A wrong spelling is not an error there:
#: Airflow logs a warning and drops the whole behaviour.
HOOK_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    key.replace("-", "_"): value for key, value in UI_FIELD_BEHAVIOUR.items()
}

CONN_FIELDS: dict[str, dict[str, Any]] = {field.name: field.conn_field() for field in EXTRA_FIELDS}


def connection_form_widgets() -> dict[str, Any]:
    """Return the extra fields as wtforms fields, for the hook's ``get_connection_form_widgets``.

    Every field is optional as far as wtforms goes: Airflow 2 validates the extra fields of
    every connection type whatever type is chosen, so a required field would block saving
    any other connection.
    """
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import BooleanField, IntegerField, StringField
    from wtforms.validators import Optional, any_of

    def widget(field: ExtraField) -> Any:
        label = lazy_gettext(field.label)
        description = lazy_gettext(field.description)
        if field.kind == "boolean":
            return BooleanField(label, description=description, default=field.default)
        validators = [Optional(), *([any_of(list(field.choices))] if field.choices else [])]
        if field.kind == "integer":
            kind, default = IntegerField, field.default
        else:  # a number is typed as text, so that 2.5 s is accepted
            kind, default = StringField, None if field.default is None else str(field.default)
        widget_ = BS3TextFieldWidget()
        return kind(label, validators=validators, description=description, default=default, widget=widget_)

    return {field.name: widget(field) for field in EXTRA_FIELDS}
