from django.urls import path

from workspace.views import home

app_name = "workspace"

urlpatterns = [
    path("", home.index, name="index"),
    path("login/", home.LoginView.as_view(), name="login"),
    path("logout/", home.logout_view, name="logout"),
    path("home/", home.home, name="home"),
]
