"""Sphinx configuration of the airflow-provider-neevcloud documentation.

Why Sphinx: the package's docstrings are reST with ``:param:`` fields, which autodoc renders
as they are. ``literalinclude`` with ``:start-after: [START x]`` / ``:end-before: [END x]``
takes the guides' snippets from the example DAGs by the same ``# [START ...]`` / ``# [END ...]``
markers Airflow's own provider docs use, so every snippet shown is code the test suite runs.
And ``-W`` turns every warning into an error, so a broken reference or include fails the build.

Build (from the repository root; no network needed)::

    .venv/bin/sphinx-build -W --keep-going -n -q -b html docs docs/_build/html
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Generic

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

# The docs document the package in this checkout, whether or not it is installed.
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)

# Importing the operators imports Airflow, which reads (and may create) its home directory:
# keep that away from the user's real ~/airflow while the docs are built.
os.environ.setdefault("AIRFLOW_HOME", os.path.join(ROOT, "docs", "_build", "airflow-home"))
# Airflow logs its start-up at INFO before its logging is configured; the build needs none of it.
for _name in ("airflow.configuration", "airflow.settings"):
    logging.getLogger(_name).setLevel(logging.WARNING)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from neev_provider import __version__  # noqa: E402

project = "airflow-provider-neevcloud"
author = "airflow-provider-neevcloud developers"
copyright = "airflow-provider-neevcloud developers"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
language = "en"

# -- HTML ----------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"airflow-provider-neevcloud {release}"
html_static_path: list[str] = ["_static"]
html_copy_source = False
# Plain "::" blocks are messages and diagrams; code blocks name their language.
highlight_language = "none"

# -- autodoc ------------------------------------------------------------------------------

autodoc_default_options = {
    "members": True,
    "member-order": "bysource",
    "show-inheritance": True,
}
# Types go into the parameter lists, so signatures stay short enough to read.
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_typehints_format = "short"
# Airflow's BaseOperator / BaseHook docstrings are not ours to render (nor to warn about).
autodoc_inherit_docstrings = False
autodoc_class_signature = "mixed"

# -- MyST (the changelog is Markdown) -----------------------------------------------------

myst_heading_anchors = 3

# -- nitpicky: every cross-reference must resolve -----------------------------------------

nitpicky = True
# No intersphinx (the build must not need the network), so references into other packages
# cannot resolve. Ignored: those, and only those. Every neev_provider.* reference resolves, but
# for the few internal names of _INTERNAL below.
nitpick_ignore_regex = [
    (r"py:.*", r"(airflow|requests|httpx|tenacity)(\..*)?"),
    (r"py:.*", r"(datetime|collections\.abc|typing|enum)(\..*)?"),
    (r"py:class", r"timedelta|datetime"),
]


# Short names in docstrings that match several documented objects, and the one each means.
# (Reported for the docstrings to name them fully; each entry can go once they do.)
_MEANT = {
    # neev_provider/client/models.py, Page: "One page of :meth:`list_volumes`."
    "list_volumes": "neev_provider.client._sync.NeevCloudClient.list_volumes",
}


def _resolve_short_names(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.Element | None:
    """Resolve ``:class:`Name``` to the one documented ``neev_provider`` object called so.

    Docstrings name objects of their own package briefly (``:meth:`WaitOutcome.to_event```);
    Sphinx looks such a name up only in the current module and class. When exactly one
    documented ``neev_provider`` object ends with that name (or :data:`_MEANT` says which is
    meant), the link is made to it; otherwise the reference stays unresolved, and ``-n -W``
    fails the build.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    domain: Any = env.get_domain("py")
    if target in _MEANT:
        matches = {_MEANT[target]}
    else:
        matches = {
            name
            for name in domain.objects
            if name.startswith("neev_provider.") and (name == target or name.endswith("." + target))
        }
    if len(matches) != 1:
        return None
    (name,) = matches
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], name, node, contnode)


# Internal names that public docstrings mention (module overviews, the type of a field). The API
# reference lists public names only, so these are shown as plain text; any other reference to an
# undocumented neev_provider name still fails the build.
_INTERNAL = {
    "neev_provider.client.auth.Auth",  # ClientConfig.auth: TokenAuth or LoginAuth
    "ApiCall",  # neev_provider.client._calls
    "ApiCall.parse_response",
    "error_from_response",  # neev_provider.client.errors
    "evaluate",  # neev_provider.volumes.wait
    "Tap",  # neev_provider.emulator.tap
    "resume_state",  # neev_provider.operators.base
    "Store",  # neev_provider.volumes.records: the get/set of Airflow's task state store
    "SharedClient",  # neev_provider.triggers.registry
    "RECHECK_SECONDS",
    "names_missing_resource",  # neev_provider.client.errors: the one rule for "404 means gone"
    "neev_provider.client.validation.MAX_RETRIES",
}


def _leave_internal_names_unlinked(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.Element | None:
    """Render a reference to one of the :data:`_INTERNAL` names as its text, without a link."""
    if node.get("refdomain") == "py" and node["reftarget"].lstrip("~.") in _INTERNAL:
        return contnode
    return None


def _drop_generic_bases(app: Sphinx, name: str, obj: object, options: Any, bases: list[Any]) -> None:
    """Leave ``Generic[T]`` out of "Bases:": typing plumbing, not ancestry (and ``T`` has no page)."""
    kept = [base for base in bases if getattr(base, "__origin__", None) is not Generic]
    bases[:] = kept or [object]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("missing-reference", _resolve_short_names)
    app.connect("missing-reference", _leave_internal_names_unlinked)
    app.connect("autodoc-process-bases", _drop_generic_bases)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
