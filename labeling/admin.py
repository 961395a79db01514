from django.contrib import admin

from labeling.models import ImportJob, Item, Label, LabelRevision, Membership, Project, Reservation, Skip


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ("user",)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "scale_min", "scale_max", "labels_per_item", "created_at")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name", "slug")
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Who holds which role in which project (the project's leads do the same on its settings page)."""

    list_display = ("project", "user", "role", "created_at")
    list_filter = ("role", "project")
    search_fields = ("user__username", "project__slug", "project__name")
    autocomplete_fields = ("user", "project")
    list_select_related = ("project", "user")


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("external_id", "project", "split", "query", "label_count", "adjudicated_score")
    list_filter = ("project", "split")
    search_fields = ("external_id", "query")
    list_select_related = ("project",)


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ("item", "annotator", "score", "created_at", "updated_at")
    list_filter = ("item__project", "annotator")
    raw_id_fields = ("item",)
    list_select_related = ("item", "annotator")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("file_name", "project", "status", "items_imported", "labels_imported", "created_at")
    list_filter = ("status", "project")
    readonly_fields = ("errors",)


@admin.register(LabelRevision)
class LabelRevisionAdmin(admin.ModelAdmin):
    list_display = ("item", "annotator", "action", "score", "labeled_at", "recorded_at")
    list_filter = ("action", "item__project")
    raw_id_fields = ("item", "label")


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ("item", "annotator", "created_at", "expires_at")
    raw_id_fields = ("item",)


@admin.register(Skip)
class SkipAdmin(admin.ModelAdmin):
    list_display = ("item", "annotator", "skipped_at")
    raw_id_fields = ("item",)
