"""Routes of the JSON API, mounted at /api/ (each one described in judging.openapi.openapi_schema)."""

from django.urls import path

from judging import api

app_name = "api"
urlpatterns = [
    path("projects/<slug:slug>/prompt", api.production_prompt, name="prompt"),
    path("projects/<slug:slug>/items", api.items_import_view, name="items"),
    path("projects/<slug:slug>/imports/<int:job_id>", api.import_job_view, name="import_job"),
    path("projects/<slug:slug>/metrics", api.metrics, name="metrics"),
    path("openapi.json", api.openapi, name="openapi"),
]
