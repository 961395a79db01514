from django.contrib import admin

from judging.models import ModelEndpoint, PromptVersion


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "model", "api_base", "api_key_env", "concurrency", "is_simulator")
    search_fields = ("name", "model")


@admin.register(PromptVersion)
class PromptVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "target_model", "status", "origin", "created_at")
    list_filter = ("project", "target_model", "status")
    raw_id_fields = ("parent",)
