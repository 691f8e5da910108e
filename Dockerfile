FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=alliance.settings.production
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
# GNU gettext compiles the translation catalogues (the .mo files are not in the repository).
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
COPY . .
RUN SECRET_KEY=build ALLIANCE_KEK=build python manage.py compilemessages -v0 --ignore=.venv --ignore=var
RUN SECRET_KEY=build ALLIANCE_KEK=build python manage.py collectstatic --noinput -v0
RUN useradd --system --uid 10001 alliance && mkdir -p /app/var && chown alliance /app/var
USER alliance
EXPOSE 8000
CMD ["gunicorn", "alliance.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4"]
