from django.urls import path, re_path

from labeling import views

app_name = "labeling"
urlpatterns = [
    path("", views.home, name="home"),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<slug:slug>/", views.project_detail, name="project"),
    path("projects/<slug:slug>/edit/", views.project_edit, name="project_edit"),
    path("projects/<slug:slug>/members/", views.project_members, name="members"),
    path("projects/<slug:slug>/import/", views.items_import, name="import"),
    path("projects/<slug:slug>/import/<int:job_id>/", views.import_job, name="import_job"),
    re_path(r"^projects/(?P<slug>[-\w]+)/export\.(?P<fmt>csv|jsonl)$", views.items_export, name="export"),
    path("projects/<slug:slug>/label/", views.label, name="label"),
    path("projects/<slug:slug>/label/undo/", views.label_undo, name="label_undo"),
    path("projects/<slug:slug>/label/<int:item_id>/", views.label_submit, name="label_submit"),
    path("projects/<slug:slug>/label/<int:item_id>/skip/", views.label_skip, name="label_skip"),
    path("projects/<slug:slug>/my-labels/", views.my_labels, name="my_labels"),
    path("projects/<slug:slug>/my-labels/<int:label_id>/", views.my_label_edit, name="my_label_edit"),
    path("projects/<slug:slug>/adjudication/", views.adjudication_queue, name="adjudication"),
    path("projects/<slug:slug>/adjudication/<int:item_id>/", views.adjudicate, name="adjudicate"),
    path("projects/<slug:slug>/agreement/", views.agreement, name="agreement"),
]
