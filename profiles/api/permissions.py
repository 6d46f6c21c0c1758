"""Who may write: authenticated staff holding the model permission (as in the admin)."""

from rest_framework import permissions


class StaffModelPermissions(permissions.DjangoModelPermissions):
    """
    Reading is open to everyone (the queryset decides *what* each reader sees); a write
    needs a staff account with the model's add/change/delete permission, the same rule
    the admin applies. Workflow actions (publish, submit...) need the change permission
    here; the model's ``check_state_change`` then decides whether this move is allowed.
    """

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        if getattr(view, "action", None) in getattr(view, "workflow_actions", {}):
            model = view.get_queryset().model
            return user.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}")
        return super().has_permission(request, view)
