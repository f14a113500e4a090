# overheard's image: the app's own dependencies only (no dev extras), run as a non-root user.
# `docker compose up` (compose.yaml) runs it as the web server, the worker and the migration.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY scoring ./scoring
COPY migrations ./migrations
RUN python -m venv /opt/overheard \
    && /opt/overheard/bin/pip install --upgrade pip \
    && /opt/overheard/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/overheard/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=3000
RUN useradd --create-home --uid 10001 overheard
COPY --from=build /opt/overheard /opt/overheard
USER overheard
WORKDIR /home/overheard
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '3000')}/healthz\", timeout=4)"]
# The shell form expands $PORT, as platforms that set it expect; exec keeps signals direct.
CMD ["sh", "-c", "exec overheard serve --host 0.0.0.0 --port \"$PORT\""]
