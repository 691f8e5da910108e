"""Load a synthetic alliance (sharing.analytics.synthetic) into rollups and measures, as the relay would."""

from ports.models import AgencyKind, Hub, Port
from ports.services import agency_ensure
from trends.models import Measure
from trends.services import rollups


def load_alliance(alliance) -> None:
    series = alliance.series
    for locode in series.ports:
        port, _ = Port.objects.get_or_create(
            locode=locode, defaults={"name": locode, "country": locode[:2], "hub": Hub.NORTH_WEST, "is_member": True}
        )
        if not port.is_member:
            Port.objects.filter(pk=locode).update(is_member=True, hub=port.hub or Hub.NORTH_WEST)
    for locode in series.origins:
        Port.objects.get_or_create(locode=locode, defaults={"name": locode, "country": locode[:2]})
    cells = {}
    for p, port in enumerate(series.ports):
        for o, origin in enumerate(series.origins):
            for t, week in enumerate(series.weeks):
                scans, hits = int(series.scans[p, o, t]), int(series.hits[p, o, t])
                kg = float(series.seized_kg[p, o, t])
                if scans - hits > 0:
                    cells[(week, port, origin, "clear")] = [scans - hits, 0.0, 0]
                if hits > 0:
                    cells[(week, port, origin, "suspect")] = [hits, kg, 0]
    rollups.add_cells(cells)  # the relay's write: daily cells and their weeks and months
    for measure in alliance.measures:
        port = Port.objects.get(pk=measure.port)
        agency = agency_ensure(kind=AgencyKind.CUSTOMS, port=port, name=f"{port.locode} customs")
        Measure.objects.create(
            port=port,
            origin_id=measure.origin,
            starts_on=measure.starts_on,
            description="synthetic measure",
            agency=agency,
            author=f"{agency.slug}/000000",
            created_at="2020-01-01T00:00:00Z",
        )
