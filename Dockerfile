# syntax=docker/dockerfile:1
# Alliance Exchange: one image for web (gunicorn), worker and beat, and the one-off migrate.
# Two stages: the build stage installs requirements.txt (runtime only: no test, lint or browser tools) into a
# virtualenv and collects the static files with hashed names; the runtime stage copies the virtualenv and the
# code, runs as an unprivileged user and writes nowhere but /tmp (compose mounts the root read-only).
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --require-virtualenv -r /tmp/requirements.txt
# GNU gettext compiles the translation catalogues (the .mo files are not in the repository); build stage only.
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN SECRET_KEY=build ALLIANCE_KEK=build ALLIANCE_ENV_FILE=/nonexistent ALLIANCE_VAR_DIR=/app/var \
    /opt/venv/bin/python manage.py compilemessages -v0 --ignore=.venv --ignore=var
# Hashed static names (ManifestStaticFilesStorage under the production settings), compressed by WhiteNoise;
# a template naming a missing file fails here, at build time. The secrets are placeholders: nothing is signed.
RUN SECRET_KEY=collectstatic-only ALLIANCE_KEK=collectstatic-only ALLIANCE_ENV_FILE=/nonexistent \
    DJANGO_SETTINGS_MODULE=alliance.settings.production ALLIANCE_VAR_DIR=/app/var \
    /opt/venv/bin/python manage.py collectstatic --noinput -v0 \
 && /opt/venv/bin/python -m compileall -q /app /opt/venv \
 && rm -rf /app/tests /app/bench /app/.git /app/.venv /app/var/alliance.sqlite3*

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=alliance.settings.production ALLIANCE_VAR_DIR=/app/var ALLIANCE_ENV_FILE=/nonexistent \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics HEARTBEAT_DIR=/tmp
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin alliance
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=root:root /app /app
WORKDIR /app
USER 10001
EXPOSE 8000
# Liveness only: readiness (/healthz) names database, broker and worker, for the proxy and the monitors.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/livez', timeout=4)"]
CMD ["gunicorn", "-c", "python:alliance.gunicorn_conf", "alliance.wsgi:application"]
