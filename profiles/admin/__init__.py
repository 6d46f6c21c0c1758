"""
The editors' admin, split by role:

- ``workflow``: the editorial workflow shared by every publishable model (states and roles,
  actions, the optimistic-locking form, history compare/revert, undelete, Markdown preview,
  the editors' dashboard);
- ``registry``: one ``ModelAdmin`` per model, built on it.
"""

from . import registry, workflow  # noqa: F401  (registering is the side effect)
