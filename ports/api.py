"""Reference data and member API (SPEC section 2): ports, agencies, me, members."""

import django_filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors
from .models import Agency, AgencyKind, Hub, Membership, Port, Role
from .permissions import IsPublicSectorMember


class PortOutput(serializers.ModelSerializer):
    class Meta:
        model = Port
        fields = ["locode", "name", "country", "hub", "latitude", "longitude", "is_member"]


class PortFilter(django_filters.FilterSet):
    member = django_filters.BooleanFilter(field_name="is_member", help_text="true: alliance members; false: others")
    hub = django_filters.ChoiceFilter(choices=Hub.choices)

    class Meta:
        model = Port
        fields = ["member", "hub"]


class PortListApi(generics.ListAPIView):
    serializer_class = PortOutput
    filterset_class = PortFilter
    queryset = Port.objects.order_by("locode")


class AgencyOutput(serializers.ModelSerializer):
    port = serializers.CharField(source="port_id", allow_null=True)

    class Meta:
        model = Agency
        fields = ["slug", "name", "kind", "sector", "port"]


class AgencyFilter(django_filters.FilterSet):
    port = django_filters.CharFilter(field_name="port_id", help_text="LOCODE")
    kind = django_filters.ChoiceFilter(choices=AgencyKind.choices)

    class Meta:
        model = Agency
        fields = ["port", "kind"]


class AgencyListApi(generics.ListAPIView):
    serializer_class = AgencyOutput
    filterset_class = AgencyFilter

    def get_queryset(self):
        return selectors.agency_list()


class MembershipOutput(serializers.ModelSerializer):
    agency = serializers.CharField(source="agency.slug")

    class Meta:
        model = Membership
        fields = ["agency", "role", "handle"]


class MeApi(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "username": serializers.CharField(),
                "display_name": serializers.CharField(),
                "memberships": MembershipOutput(many=True),
                "second_factor_verified": serializers.BooleanField(),
            },
        )
    )
    def get(self, request):
        user = request.user
        is_verified = getattr(user, "is_verified", None)
        return Response(
            {
                "username": user.username,
                "display_name": selectors.display_name(user),
                "memberships": MembershipOutput(selectors.active_memberships(user), many=True).data,
                "second_factor_verified": bool(request.auth is None and is_verified and is_verified()),
            }
        )


class MemberOutput(serializers.ModelSerializer):
    agency = serializers.CharField(source="agency.slug")
    display_name = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["handle", "display_name", "agency", "role"]

    def get_display_name(self, obj) -> str:
        return selectors.display_name(obj.user)


class MemberFilter(django_filters.FilterSet):
    agency = django_filters.CharFilter(field_name="agency__slug", help_text="agency slug")
    q = django_filters.CharFilter(method="search", help_text="handle, name or agency")
    role = django_filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["agency", "q", "role"]

    def search(self, queryset, name, value):
        return queryset.filter(pk__in=selectors.member_directory(q=value).values("pk"))


class MemberListApi(generics.ListAPIView):
    """The directory public-sector members use to pick RED recipients. Closed to the private sector."""

    serializer_class = MemberOutput
    filterset_class = MemberFilter
    permission_classes = [IsPublicSectorMember]

    def get_queryset(self):
        return selectors.member_directory()
