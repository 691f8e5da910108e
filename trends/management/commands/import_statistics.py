from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ports.models import Agency
from trends.services.statistics import read_csv, statistics_import, statistics_validate


class Command(BaseCommand):
    help = (
        "Import aggregate statistics (CSV: period_start,period_end,port,origin,scans,suspect,positive,seized_kg). "
        "A bad file is refused whole, every bad line named."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--agency", help="slug of the reporting agency (recorded on the rows)")
        parser.add_argument("--source", help="a note on where the figures come from (default: the file name)")

    def handle(self, *args, file, agency=None, source=None, **options):
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        reporting = None
        if agency:
            reporting = Agency.objects.filter(slug=agency).first()
            if reporting is None:
                raise CommandError(f"no agency {agency!r}")
        raw, errors = read_csv(text)
        if not errors:
            rows, errors = statistics_validate(raw)
        if errors:
            for index in sorted(errors):
                for field, messages in errors[index].items():
                    for message in messages:
                        # index -1 is the header (line 1); row i is on line i + 2
                        self.stderr.write(f"line {index + 2}: {field}: {message}")
            raise CommandError(f"{path.name}: {len(errors)} bad line(s); nothing imported")
        created, replaced = statistics_import(rows, agency=reporting, source=source or path.name)
        self.stdout.write(f"imported {len(rows)} rows ({created} created, {replaced} replaced)")
