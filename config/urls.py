from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("judging.api_urls")),
    path("", include("judging.urls")),
    path("", include("labeling.urls")),
    path("", include("optimizer.urls")),
]

# Styled error pages (templates/403.html, 404.html); 400 and 500 are Django's own views rendering
# templates/400.html and 500.html without a request, so that a broken database cannot break them too.
handler403 = "labeling.errors.forbidden"
handler404 = "labeling.errors.not_found"
