from django.urls import path, re_path

from demo import views

app_name = "demo"

urlpatterns = [
    path("", views.home, name="home"),
    re_path(r"^echo/(?P<rest>.*)$", views.echo, name="echo"),
]
