# One image for the web server and the worker; docker-compose.yml chooses the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MEDIALIB_VAR_DIR=/var/lib/medialib
WORKDIR /app
COPY pyproject.toml README.md ./
COPY medialib ./medialib
COPY tagging ./tagging
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install --no-cache-dir . && python manage.py collectstatic --no-input -v0 \
    && useradd --system --home /var/lib/medialib medialib && mkdir -p /var/lib/medialib \
    && chown medialib /var/lib/medialib
USER medialib
EXPOSE 8000
CMD ["gunicorn", "medialib.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", "--threads", "16"]
