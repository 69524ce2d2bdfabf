from django.urls import path
from rest_framework.routers import DefaultRouter

from identity.api.views import ApiTokenViewSet, MeView, TeamViewSet

app_name = "identity-api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("teams", TeamViewSet, basename="team")
router.register("tokens", ApiTokenViewSet, basename="token")

urlpatterns = [path("me/", MeView.as_view(), name="me"), *router.urls]
