"""The audit trail, at the bottom layer so every app can record who did what: the
AuditEvent model, `audit()` (services) and the admin mixin that audits ModelAdmin changes."""
