from django.urls import path

from optimizer import run_views

# Included by optimizer.urls, under its "optimizer" namespace.
urlpatterns = [
    path("projects/<slug:slug>/optimizer/", run_views.run_list, name="runs"),
    path("projects/<slug:slug>/optimizer/estimate/", run_views.run_estimate, name="run_estimate"),
    path("optimizer/runs/<int:pk>/", run_views.run_detail, name="run"),
    path("optimizer/runs/<int:pk>/cancel/", run_views.run_cancel, name="run_cancel"),
    path("optimizer/runs/<int:pk>/resume/", run_views.run_resume, name="run_resume"),
]
