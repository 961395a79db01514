from django.contrib import admin

from judging.models import ApiToken, ModelEndpoint, PromotionLog, PromptVersion


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "model", "api_base", "api_key_env", "concurrency", "is_simulator")
    search_fields = ("name", "model")


@admin.register(PromptVersion)
class PromptVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "target_model", "status", "origin", "created_at")
    list_filter = ("project", "target_model", "status")
    raw_id_fields = ("parent",)


@admin.register(PromotionLog)
class PromotionLogAdmin(admin.ModelAdmin):
    list_display = (
        "promoted_at",
        "project",
        "target_model",
        "version",
        "previous",
        "is_rollback",
        "promoted_by",
    )
    list_filter = ("project", "target_model", "is_rollback")
    # The audit trail is written by promotions only.
    readonly_fields = [f.name for f in PromotionLog._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    # Tokens are made on the API tokens page (the hash alone is useless here); the admin may revoke.
    readonly_fields = ("user", "name", "prefix", "token_hash", "scopes", "created_at", "last_used_at")

    def has_add_permission(self, request) -> bool:
        return False
