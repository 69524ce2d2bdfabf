from rest_framework.routers import DefaultRouter

from control_plane.api.inventory_views import (
    CapabilityViewSet,
    ChangeViewSet,
    HealthViewSet,
    ResourceTypeViewSet,
    ResourceViewSet,
    SyncRunViewSet,
)
from control_plane.api.provisioning_views import ProvisioningRequestViewSet
from control_plane.api.views import ClusterViewSet

app_name = "control_plane-api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("clusters", ClusterViewSet, basename="cluster")
router.register("resources", ResourceViewSet, basename="resource")
router.register("changes", ChangeViewSet, basename="change")
router.register("health", HealthViewSet, basename="health")
router.register("resource-types", ResourceTypeViewSet, basename="resource-type")
router.register("sync-runs", SyncRunViewSet, basename="sync-run")
router.register("capabilities", CapabilityViewSet, basename="capability")
router.register(
    r"capabilities/(?P<capability>[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)/requests",
    ProvisioningRequestViewSet,
    basename="capability-request",
)

urlpatterns = router.urls
