"""The admin app, configured to use openclaw's admin site (the dashboard index)."""

from django.contrib.admin.apps import AdminConfig


class OpenclawAdminConfig(AdminConfig):
    default_site = "openclaw.admin.OpenclawAdminSite"
