from django.contrib import admin

from optimizer.models import (
    Bullet,
    BulletChange,
    InstructionChange,
    LibraryInstruction,
    OptimizationCandidate,
    OptimizationRun,
)


@admin.register(Bullet)
class BulletAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "prompt_version", "endpoint", "item", "status", "delta", "updated_at")
    list_filter = ("project", "status")
    raw_id_fields = ("item", "judge_run", "judgment", "merged_into")
    search_fields = ("text",)


@admin.register(BulletChange)
class BulletChangeAdmin(admin.ModelAdmin):
    list_display = ("bullet", "action", "user", "at")
    list_filter = ("action",)
    raw_id_fields = ("bullet",)


@admin.register(LibraryInstruction)
class LibraryInstructionAdmin(admin.ModelAdmin):
    list_display = ("project", "position", "active", "text")
    list_filter = ("project", "active")
    search_fields = ("text",)


@admin.register(InstructionChange)
class InstructionChangeAdmin(admin.ModelAdmin):
    list_display = ("instruction", "action", "user", "at")
    raw_id_fields = ("instruction",)


class OptimizationCandidateInline(admin.TabularInline):
    model = OptimizationCandidate
    raw_id_fields = ("prompt_version",)
    extra = 0


@admin.register(OptimizationRun)
class OptimizationRunAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "algorithm", "regime", "status", "stop_reason", "metric_calls_used")
    list_filter = ("project", "algorithm", "regime", "status")
    raw_id_fields = ("base_version", "best_version", "base_test_run", "best_test_run")
    inlines = [OptimizationCandidateInline]
