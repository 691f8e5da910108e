"""What makes the demo alliance worth opening: two years of trends with one planted displacement found by the
real detector, a declared measure, alerts of every TLP, a practice, feedback, a correlation and a one-sided hit.

Everything goes through the services a user or a node would use (statistics import, measure declaration,
portal-signed publishing, signed scan ingest and relay, feedback), so signatures, access grants, audit and
notifications are the real ones. Idempotent: each piece is looked for before it is made, and the history's
dates are anchored on the history already stored, so a second run adds nothing.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from django.db.models import Max
from django.utils import timezone
from stdnum import iso6346

from ports.keys import public_x, thumbprint
from ports.models import Membership, ScannerNode

HISTORY_SOURCE = "demo history"
HISTORY_WEEKS = 104
RNG_SEED = 20240601

# Weekly scans of containers from the five origins, all together, at each demo port (port sizes differ a lot).
PORT_SCANS = {
    "NLRTM": 2000,
    "BEANR": 1700,
    "DEHAM": 1100,
    "ESALG": 800,
    "ESVLC": 600,
    "FRLEH": 450,
    "ITGIT": 300,
    "PLGDN": 160,
}
# origin -> (share of the scans, suspect-or-positive hits per scan, seasonal amplitude, seasonal phase)
ORIGINS = {
    "ECGYE": (0.32, 0.035, 0.20, 0.5),  # banana reefers peak in the northern winter
    "COCTG": (0.24, 0.030, 0.20, 2.0),
    "BRSSZ": (0.22, 0.022, 0.15, 3.5),
    "PECLL": (0.12, 0.025, 0.20, 1.0),
    "PAONX": (0.10, 0.020, 0.10, 5.0),
}
POSITIVE_SHARE = 0.2  # of the hits, confirmed positive; the rest stay suspect

# The planted displacement: Rotterdam tightens on Guayaquil; part of the traffic moves to Antwerp.
DISPLACEMENT = {"from": "NLRTM", "to": "BEANR", "origin": "ECGYE", "weeks_ago": 30, "lag_weeks": 3}
# The decoy: Hamburg tightens on Cartagena and the smuggling simply stops (deterrence), nothing rises elsewhere.
DECOY = {"port": "DEHAM", "origin": "COCTG", "weeks_ago": 55}

MEASURE_TEXT = (
    "Reinforced risk profile on reefer containers from Guayaquil: every box with a first-time consignee or a "
    "late change of destination goes through the X-ray scanner before release, and seals are checked at the gate."
)


@dataclass(frozen=True)
class DemoMember:
    username: str
    agency: str


def _member(username: str, agency: str) -> Membership:
    return Membership.objects.select_related("agency", "user").get(user__username=username, agency__slug=agency)


# ---------------------------------------------------------------- trend history


def _history_end() -> date:
    """The Monday of the last history week: the stored demo history's, else the last complete week's."""
    stored = _history_rows().aggregate(last=Max("period_start"))["last"]
    if stored is not None:
        return stored
    today = timezone.localdate()
    return today - timedelta(days=today.weekday()) - timedelta(weeks=1)


def _history_rows():
    from trends.models import StatisticsRow

    return StatisticsRow.objects.filter(source=HISTORY_SOURCE)


def history_rows(end_week: date) -> list[dict]:
    """104 weekly rows per (port, origin): seasonality, over-dispersed Poisson noise, the displacement, the decoy."""
    rng = np.random.default_rng(RNG_SEED)
    weeks = [end_week - timedelta(weeks=HISTORY_WEEKS - 1 - i) for i in range(HISTORY_WEEKS)]
    t = np.arange(HISTORY_WEEKS)
    t_disp = HISTORY_WEEKS - DISPLACEMENT["weeks_ago"]
    t_decoy = HISTORY_WEEKS - DECOY["weeks_ago"]
    rows = []
    for port, size in PORT_SCANS.items():
        for origin, (share, risk, amp, phase) in ORIGINS.items():
            season = 1 + amp * np.sin(2 * np.pi * t / 52.18 + phase)
            port_risk = risk * rng.lognormal(0.0, 0.15)
            lam_s = np.full(HISTORY_WEEKS, size * share * rng.lognormal(0.0, 0.2)) * season
            lam_h = lam_s * port_risk
            if origin == DISPLACEMENT["origin"] and port == DISPLACEMENT["from"]:
                lam_s[t_disp:] *= 2.0  # twice as many Guayaquil boxes scanned...
                lam_h[t_disp:] *= 0.35  # ...and far fewer hits: the loads went elsewhere
            if origin == DISPLACEMENT["origin"] and port == DISPLACEMENT["to"]:
                base_from = PORT_SCANS[DISPLACEMENT["from"]] * share * risk * season
                ramp = np.clip((t - (t_disp + DISPLACEMENT["lag_weeks"]) + 1) / 3.0, 0, 1)
                moved = 0.9 * base_from * ramp
                lam_h = lam_h + moved
                lam_s = lam_s + moved  # the diverted loads are scanned in Antwerp
            if origin == DECOY["origin"] and port == DECOY["port"]:
                lam_s[t_decoy:] *= 1.8
                lam_h[t_decoy:] *= 0.5  # deterred: the traffic stopped, it did not move
            noise = 1 / 0.08**2
            scans = rng.poisson(lam_s * rng.gamma(noise, 1 / noise, HISTORY_WEEKS))
            hits = np.minimum(rng.poisson(lam_h * rng.gamma(noise, 1 / noise, HISTORY_WEEKS)), scans)
            positive = rng.binomial(hits, POSITIVE_SHARE)
            kg = positive * rng.lognormal(np.log(40.0), 0.9, HISTORY_WEEKS)
            for i, week in enumerate(weeks):
                rows.append(
                    {
                        "period_start": week.isoformat(),
                        "period_end": (week + timedelta(days=6)).isoformat(),
                        "port": port,
                        "origin": origin,
                        "scans": int(scans[i]),
                        "suspect": int(hits[i] - positive[i]),
                        "positive": int(positive[i]),
                        "seized_kg": round(float(kg[i]), 1),
                    }
                )
    return rows


def seed_history() -> dict:
    """The history (once), Rotterdam's declared measure (once), then a real detection run if anything was new."""
    from trends.models import Measure
    from trends.services.displacement import detect_and_store
    from trends.services.measures import measure_declare
    from trends.services.statistics import statistics_import, statistics_validate

    end_week = _history_end()
    created = 0
    if not _history_rows().exists():
        clean, errors = statistics_validate(history_rows(end_week))
        if errors:
            raise ValueError(f"demo history does not validate: {dict(list(errors.items())[:3])}")
        created, _ = statistics_import(clean, source=HISTORY_SOURCE)
    starts_on = end_week - timedelta(weeks=DISPLACEMENT["weeks_ago"] - 1)
    declared = False
    rotterdam = DemoMember("rotterdam.officer", "nlrtm-customs")
    if (
        _here(rotterdam)
        and not Measure.objects.filter(port_id=DISPLACEMENT["from"], origin_id=DISPLACEMENT["origin"]).exists()
    ):
        measure_declare(
            user=_member(rotterdam.username, rotterdam.agency).user,
            port=DISPLACEMENT["from"],
            origin=DISPLACEMENT["origin"],
            starts_on=starts_on,
            description=MEASURE_TEXT,
            agency_slug="nlrtm-customs",
        )
        declared = True
    detection = detect_and_store() if (created or declared) else None
    return {"statistics": created, "measure": declared, "detection": detection}


# ---------------------------------------------------------------- alerts, practice, feedback


def _container(owner_serial: str) -> str:
    return owner_serial + iso6346.calc_check_digit(owner_serial)


CORRELATED_CONTAINER = _container("SUDU731204")  # named by Hamburg, scanned suspect in Antwerp
HIDDEN_CONTAINER = _container("TGHU552817")  # named by Hamburg to Europol and Antwerp police only


def _alerts(handles: dict[str, str]) -> list[tuple[str, DemoMember, dict]]:
    none = {"agencies": [], "ports": [], "users": []}
    return [
        (
            "green",
            DemoMember("antwerp.officer", "beanr-customs"),
            {
                "title": "Cloned seals on reefer containers from South America",
                "body": "Over the last month several reefer containers arrived with bolt seals whose numbers match "
                "the documents but whose barcodes and laser marks do not. The original seal was cut at a "
                "transhipment stop and replaced by a copy. Compare the seal's marks with the shipper's "
                "seal log, not only the number, and photograph both sides.",
                "category": "seal_tampering",
                "severity": "medium",
                "tlp": "GREEN",
                "audience": none,
                "port": "BEANR",
                "origin": None,
                "source_reliability": "B",
                "information_reliability": "2",
                "handling": "H0",
            },
        ),
        (
            "amber_nlrtm",
            DemoMember("antwerp.officer", "beanr-customs"),
            {
                "title": "Rip-on bags behind the doors of banana reefers from Guayaquil",
                "body": "Three finds this quarter on reefers from Guayaquil: sports bags placed directly behind the "
                "doors, with a replaced seal. The pattern points to loading at the origin terminal and "
                "retrieval at the first European terminal. Rotterdam colleagues: the same carriers call at "
                "both ports; please check the doors of the boxes listed in your risk queue.",
                "category": "rip_on_rip_off",
                "severity": "high",
                "tlp": "AMBER",
                "audience": {"agencies": [], "ports": ["NLRTM"], "users": []},
                "port": "BEANR",
                "origin": "ECGYE",
                "source_reliability": "A",
                "information_reliability": "2",
                "handling": "H1",
            },
        ),
        (
            "amber_strict",
            DemoMember("hamburg.officer", "deham-customs"),
            {
                "title": "Extraction team found inside an empty container at the terminal",
                "body": "Two persons were found inside an empty container stacked next to a reefer row, with "
                "tools, food for several days and a phone. They were waiting for a specific box to arrive. "
                "The container below is the one they used. Shared with Europol and Antwerp police for the "
                "investigation only; do not contact the carrier.",
                "category": "extraction_team",
                "severity": "high",
                "tlp": "AMBER+STRICT",
                "audience": {"agencies": ["beanr-police", "europol"], "ports": [], "users": []},
                "containers": [HIDDEN_CONTAINER],
                "port": "DEHAM",
                "origin": None,
                "source_reliability": "A",
                "information_reliability": "1",
                "handling": "H1",
            },
        ),
        (
            "red",
            DemoMember("rotterdam.officer", "nlrtm-customs"),
            {
                "title": "Release PIN codes passed on from inside a terminal",
                "body": "Information from a reliable source indicates that release PIN codes for containers from "
                "Guayaquil are passed on by a person with access to a terminal's release system. The codes "
                "are used to collect boxes within hours of discharge. For the Europol liaison only, to "
                "check against ongoing cases before any action is taken.",
                "category": "pin_code_theft",
                "severity": "critical",
                "tlp": "RED",
                "audience": {"agencies": [], "ports": [], "users": [handles["europol.liaison"]]},
                "port": "NLRTM",
                "origin": "ECGYE",
                "source_reliability": "B",
                "information_reliability": "3",
                "handling": "H2",
            },
        ),
        (
            "amber_deham",
            DemoMember("hamburg.officer", "deham-customs"),
            {
                "title": "Cocaine in the cooling unit of a reefer routed via Antwerp",
                "body": "A reefer from Guayaquil, discharged in Antwerp and due in Hamburg, is reported to carry "
                "packages inside the refrigeration unit. Antwerp customs: please scan the unit before the box "
                "is loaded for Hamburg and tell us the result.",
                "category": "reefer_unit",
                "severity": "high",
                "tlp": "AMBER",
                "audience": {"agencies": ["beanr-customs"], "ports": [], "users": []},
                "containers": [CORRELATED_CONTAINER],
                "port": "DEHAM",
                "origin": "ECGYE",
                "source_reliability": "B",
                "information_reliability": "2",
                "handling": "H1",
            },
        ),
    ]


# Officers write in their own language; search finds these from Dutch, French and German words too
# (sharing.search; docs/search.md measures it on exactly these texts).
ALERTS_IN_OTHER_LANGUAGES: list[tuple[str, DemoMember, dict]] = [
    (
        "green_nl",
        DemoMember("rotterdam.officer", "nlrtm-customs"),
        {
            "title": "Vervalste verzegelingen op koelcontainers uit Ecuador",
            "body": "Bij controles op de Maasvlakte vonden douaniers de afgelopen weken vervalste verzegelingen op "
            "koelcontainers met bananen. De nummers kloppen met de documenten, maar de lasermarkeringen niet. "
            "Vergelijk bij elke controle de verzegeling met het logboek van de verlader en fotografeer beide kanten.",
            "category": "seal_tampering",
            "severity": "medium",
            "tlp": "GREEN",
            "audience": {"agencies": [], "ports": [], "users": []},
            "port": "NLRTM",
            "origin": "ECGYE",
            "source_reliability": "B",
            "information_reliability": "2",
            "handling": "H0",
        },
    ),
    (
        "green_fr",
        DemoMember("antwerp.officer", "beanr-customs"),
        {
            "title": "Cocaïne dissimulée dans le plancher de conteneurs frigorifiques",
            "body": "Lors de contrôles au scanner, les douaniers d'Anvers ont découvert de la cocaïne dans des "
            "planchers modifiés. Les soudures récentes et les vis neuves trahissent la dissimulation. Vérifiez "
            "l'épaisseur du plancher et comparez l'image du scanner avec celle d'un conteneur de référence.",
            "category": "concealment_in_structure",
            "severity": "high",
            "tlp": "GREEN",
            "audience": {"agencies": [], "ports": [], "users": []},
            "port": "BEANR",
            "origin": None,
            "source_reliability": "A",
            "information_reliability": "2",
            "handling": "H0",
        },
    ),
    (
        "green_de",
        DemoMember("hamburg.officer", "deham-customs"),
        {
            "title": "Nachgemachte Plomben an Kühlcontainern aus Südamerika",
            "body": "Bei Kontrollen im Hamburger Hafen stellten Zollbeamte mehrere Kühlcontainer mit nachgemachten "
            "Plomben fest. Die Plombennummern stimmten mit den Frachtpapieren überein, die Prägungen jedoch nicht. "
            "Bitte vergleichen Sie bei der Beschau jede Plombe mit dem Plombenprotokoll des Versenders.",
            "category": "seal_tampering",
            "severity": "medium",
            "tlp": "GREEN",
            "audience": {"agencies": [], "ports": [], "users": []},
            "port": "DEHAM",
            "origin": None,
            "source_reliability": "B",
            "information_reliability": "2",
            "handling": "H0",
        },
    ),
]

PRACTICE = (
    DemoMember("antwerp.officer", "beanr-customs"),
    {
        "title": "Joint inspection of reefer units with the terminal's technicians",
        "body": "## Why\n\nThe refrigeration unit is a favoured hiding place: opening it without damage needs a "
        "technician, so many inspections stop at the cargo.\n\n"
        "## How we do it in Antwerp\n\n"
        "1. The risk queue marks reefers whose unit was **serviced at the origin** in the last 30 days.\n"
        "2. A terminal technician opens the unit panels under customs supervision; the unit stays powered.\n"
        "3. The X-ray image of the unit is compared with a reference image of the same model.\n"
        "4. Findings go into an alert with the container number, so other ports see the match.\n\n"
        "## Results\n\nIn the first six months, the share of reefer inspections ending in a find doubled, with "
        "no damaged cargo claims.",
        "tags": ["reefer", "x-ray", "terminal cooperation"],
        "tlp": "GREEN",
        "audience": {"agencies": [], "ports": [], "users": []},
    },
)


def _here(who: DemoMember) -> bool:
    return Membership.objects.filter(user__username=who.username, agency__slug=who.agency).exists()


def _publish_alert(who: DemoMember, data: dict):
    from sharing.models import Alert
    from sharing.services.alerts import alert_publish

    existing = Alert.objects.filter(agency__slug=who.agency, title=data["title"]).first()
    if existing is not None:
        return existing, False
    if not _here(who) or None in data.get("audience", {}).get("users", []):
        return None, False  # federated demo: the author or a named reader is homed at another instance
    fields = {"containers": [], "vessels": [], "valid_until": None, **data}
    return alert_publish(membership=_member(who.username, who.agency), data=fields), True


def seed_documents() -> dict:
    import access
    from sharing.models import Feedback, Practice
    from sharing.services.feedback import feedback_submit
    from sharing.services.practices import practice_publish

    handles: dict[str, str | None] = {"europol.liaison": None}
    handles.update(Membership.objects.filter(user__username="europol.liaison").values_list("user__username", "handle"))
    alerts, made = {}, 0
    for name, who, data in [*_alerts(handles), *ALERTS_IN_OTHER_LANGUAGES]:
        alerts[name], created = _publish_alert(who, data)
        made += created
    who, data = PRACTICE
    if _here(who) and not Practice.objects.filter(agency__slug=who.agency, title=data["title"]).exists():
        practice_publish(membership=_member(who.username, who.agency), data=data)
        made += 1
    amber = alerts["amber_nlrtm"]
    feedback = 0
    if amber is None or not _here(DemoMember("rotterdam.officer", "nlrtm-customs")):
        return {"documents": made, "feedback": feedback}  # federated: the feedback comes from another instance
    reader = _member("rotterdam.officer", "nlrtm-customs")
    if (
        not Feedback.objects.filter(alert=amber, agency=reader.agency).exists()
        and access.alerts_visible_to(reader.user).filter(pk=amber.pk).exists()
    ):
        feedback_submit(
            membership=reader,
            alert=amber,
            data={
                "outcome": "seized",
                "seized_kg": 214.5,
                "container": "",
                "note": "Checked the doors of four reefers from the same carrier: one held six bags behind the doors.",
            },
        )
        feedback = 1
    return {"documents": made, "feedback": feedback}


# ---------------------------------------------------------------- signed scans: a correlation and a hidden match

DEMO_NODE = "beanr-scan-01"


def _scan_documents(node: ScannerNode, scanned_at: datetime) -> list[dict]:
    at = scanned_at.astimezone(UTC).replace(microsecond=0)
    common = {"node": node.id, "port": node.port_id, "mode": "transshipment", "origin": "ECGYE"}
    return [
        {
            **common,
            "scan_id": f"{node.id}-demo-0001",
            "scanned_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "container": CORRELATED_CONTAINER,
            "vessel_imo": "9398917",
            "voyage": "AE412",
            "route": ["ECGYE", "PAMIT"],
            "next_port": "DEHAM",
            "onward_route": ["DEHAM"],
            "verdict": "suspect",
            "score": 0.87,
            "anomalies": ["reefer_unit", "organic_density"],
        },
        {
            **common,
            "scan_id": f"{node.id}-demo-0002",
            "scanned_at": (at + timedelta(minutes=25)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "container": HIDDEN_CONTAINER,
            "vessel_imo": "9321483",
            "voyage": "NE207",
            "route": ["ECGYE"],
            "next_port": "DEHAM",
            "onward_route": ["DEHAM"],
            "verdict": "suspect",
            "score": 0.74,
            "anomalies": ["rip_on_bag"],
        },
    ]


def seed_scans() -> dict:
    from ports.signing import sign_with_private_key
    from scans.models import Scan
    from scans.services.relay import relay_batch
    from scans.services.scans import scan_ingest_batch

    from .seed import _node_key

    node = ScannerNode.objects.filter(id=DEMO_NODE).first()
    if node is None:
        return {"scans": 0, "relayed": 0}  # federated: the scanner is homed at another instance
    key = _node_key(node.id)
    kid = thumbprint(public_x(key.public_key()))
    docs = _scan_documents(node, timezone.now() - timedelta(hours=3))
    missing = [d for d in docs if not Scan.objects.filter(node=node, scan_id=d["scan_id"]).exists()]
    if not missing:
        return {"scans": 0, "relayed": 0}
    items = [sign_with_private_key(d, key, kid, "scan+json") for d in missing]
    results = scan_ingest_batch(node=node, items=items)
    refused = [r for r in results if r.status == "rejected"]
    if refused:
        raise ValueError(f"demo scans refused: {[(r.code, r.errors) for r in refused]}")
    ids = [r.scan.pk for r in results if r.status == "created"]
    relayed = relay_batch(scan_ids=ids)
    return {"scans": len(ids), "relayed": relayed}


def populate() -> dict:
    """The whole demo content; each part skips what is already there."""
    return {**seed_history(), **seed_documents(), **seed_scans()}
