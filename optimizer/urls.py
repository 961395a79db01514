from django.urls import path

from optimizer import run_urls, views

app_name = "optimizer"
urlpatterns = [
    path("projects/<slug:slug>/bullets/", views.bullet_queue, name="bullets"),
    path("projects/<slug:slug>/bullets/merge/", views.bullets_merge, name="merge"),
    path("projects/<slug:slug>/flywheel/", views.version_counts, name="counts"),
    path("projects/<slug:slug>/library/", views.library_list, name="library"),
    path("projects/<slug:slug>/library/new/", views.instruction_new, name="instruction_new"),
    path("runs/<int:pk>/bullets/", views.bullets_generate, name="generate"),
    path("bullets/<int:pk>/", views.bullet_detail, name="bullet"),
    path("bullets/<int:pk>/approve/", views.bullet_approve, name="approve"),
    path("bullets/<int:pk>/reject/", views.bullet_reject, name="reject"),
    path("bullets/<int:pk>/reopen/", views.bullet_reopen, name="reopen"),
    path("bullets/<int:pk>/edit/", views.bullet_edit, name="edit"),
    path("library/<int:pk>/edit/", views.instruction_edit, name="instruction_edit"),
    path("library/<int:pk>/move/", views.instruction_move, name="instruction_move"),
    path("library/<int:pk>/active/", views.instruction_active, name="instruction_active"),
    # Optimization runs (optimizer/run_views.py).
    *run_urls.urlpatterns,
]
