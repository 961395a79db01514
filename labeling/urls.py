from django.urls import path, re_path

from labeling import views

app_name = "labeling"
urlpatterns = [
    path("", views.home, name="home"),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<slug:slug>/", views.project_detail, name="project"),
    path("projects/<slug:slug>/import/", views.items_import, name="import"),
    path("projects/<slug:slug>/import/<int:job_id>/", views.import_job, name="import_job"),
    re_path(r"^projects/(?P<slug>[-\w]+)/export\.(?P<fmt>csv|jsonl)$", views.items_export, name="export"),
]
