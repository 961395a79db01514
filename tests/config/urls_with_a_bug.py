"""Flywheel's URLs plus one view with a bug, to see what the log keeps of a real 500."""

from django.urls import path

from config.urls import urlpatterns as flywheel_urlpatterns


def view_with_a_bug(request):
    raise ZeroDivisionError("a bug in a view")


urlpatterns = [path("bug/", view_with_a_bug), *flywheel_urlpatterns]
