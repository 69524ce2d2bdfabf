from rest_framework.routers import DefaultRouter

from control_plane.api.views import ClusterViewSet

app_name = "control_plane-api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("clusters", ClusterViewSet, basename="cluster")

urlpatterns = router.urls
