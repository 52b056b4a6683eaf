"""A DRF view behind the gate, authenticated by `AccessAuthentication` (tests only)."""

from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api.authentication import AccessAuthentication


class WhoAmI(APIView):
    authentication_classes = [AccessAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(
            {
                "user": str(request.user),
                "django_user_id": getattr(request.user, "pk", None),
                "email": getattr(request.user, "email", ""),
                "aud": request.auth.get("aud") if request.auth else None,
            }
        )


urlpatterns = [
    path("whoami", WhoAmI.as_view()),
    path("cdn-cgi/access/", include("identity.urls")),
]
