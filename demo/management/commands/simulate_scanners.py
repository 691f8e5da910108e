from django.core.management.base import BaseCommand, CommandError

from demo.simulator import run


class Command(BaseCommand):
    help = "Simulated scanner nodes push signed results over real HTTP (optionally with a displacement scenario)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--rate", type=float, default=2.0, help="scans per second over all nodes")
        parser.add_argument("--duration", type=float, default=None, help="seconds; runs until killed if absent")
        parser.add_argument("--nodes", nargs="*", default=None, help="only these demo node ids")
        parser.add_argument("--displacement", action="store_true", help="one port tightens on one origin")
        parser.add_argument("--displacement-after", type=float, default=120.0, help="seconds before it starts")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, url, rate, duration, nodes, displacement, displacement_after, seed, **options):
        if rate <= 0:
            raise CommandError("--rate must be positive")
        try:
            stats = run(
                url=url,
                rate=rate,
                duration=duration,
                displacement=displacement,
                start_after=displacement_after,
                seed=seed,
                only=nodes,
                log=self.stderr.write,
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt:
            return
        self.stdout.write(" ".join(f"{k}={v}" for k, v in stats.items()))
