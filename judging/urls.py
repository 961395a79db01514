from django.urls import path, re_path

from judging import version_views, views

app_name = "judging"
urlpatterns = [
    path("endpoints/", views.endpoint_list, name="endpoints"),
    path("endpoints/new/", views.endpoint_edit, name="endpoint_new"),
    path("endpoints/<int:pk>/", views.endpoint_edit, name="endpoint_edit"),
    path("endpoints/<int:pk>/test/", views.endpoint_test, name="endpoint_test"),
    path("projects/<slug:slug>/runs/", views.run_list, name="runs"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("runs/<int:pk>/resume/", views.run_resume, name="run_resume"),
    path("runs/<int:pk>/disagreements/", views.run_disagreements, name="disagreements"),
    path("runs/<int:pk>/items/<int:item_id>/", views.run_item, name="run_item"),
    re_path(r"^runs/(?P<pk>\d+)/export\.(?P<fmt>csv|jsonl)$", views.run_export, name="run_export"),
]

# Prompt versions, promotion, model comparison, API tokens (judging.version_views)
urlpatterns += [
    path("projects/<slug:slug>/versions/", version_views.version_list, name="versions"),
    path("projects/<slug:slug>/versions/new/", version_views.version_new, name="version_new"),
    path("projects/<slug:slug>/versions/diff/", version_views.version_diff, name="version_diff"),
    path("projects/<slug:slug>/models/", version_views.model_comparison, name="model_comparison"),
    path("versions/<int:pk>/", version_views.version_detail, name="version"),
    path("versions/<int:pk>/edit/", version_views.version_edit, name="version_edit"),
    path("versions/<int:pk>/promote/", version_views.version_promote, name="version_promote"),
    path("versions/<int:pk>/judge-test/", version_views.version_judge_test, name="version_judge_test"),
    path("versions/<int:pk>/program.json", version_views.version_program, name="version_program"),
    path("tokens/", version_views.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", version_views.token_revoke, name="token_revoke"),
]
