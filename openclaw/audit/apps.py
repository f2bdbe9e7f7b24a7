"""App config for the audit trail (label `audit`; its table keeps the name it had in gateway)."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "openclaw.audit"
    label = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"
