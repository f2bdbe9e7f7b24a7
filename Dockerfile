# openclaw's container image: the steps tests/packaging/test_wheel.py runs (build the sdist and
# the wheel from it, install the wheel without dependencies next to the locked ones, then
# collectstatic, migrate, gateway), on a slim Python, as a non-root user, with the state
# directory as a volume. See docs/deployment.md, section 8.

# --- build: the locked dependencies, then the wheel built from this source ------------------
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/openclaw/venv
COPY requirements.lock ./
RUN /opt/openclaw/venv/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md MANIFEST.in manage.py .env.example ./
COPY openclaw ./openclaw
COPY gateway ./gateway
COPY agents ./agents
COPY memory ./memory
COPY templates ./templates
RUN pip install build \
    && python -m build --outdir /dist . \
    && /opt/openclaw/venv/bin/pip install --no-deps /dist/openclaw-*.whl

# --- runtime --------------------------------------------------------------------------------
FROM python:3.12-slim
ENV PATH=/opt/openclaw/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    OPENCLAW_HOME=/data \
    OPENCLAW_STATIC_ROOT=/opt/openclaw/static \
    OPENCLAW_BIND=0.0.0.0 \
    OPENCLAW_PORT=8000
RUN useradd --system --uid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin openclaw \
    && install -d -m 0700 -o openclaw -g openclaw /data
COPY --from=build /opt/openclaw/venv /opt/openclaw/venv
# Static files are part of the image (hashed, compressed). The settings create a secret key and
# a token in the state directory on first use: a throw-away one here, never in the image.
RUN OPENCLAW_HOME=/tmp/build-home DJANGO_SECRET_KEY=collectstatic-only \
    OPENCLAW_GATEWAY_TOKEN=collectstatic-only \
    openclaw collectstatic --no-input --verbosity 0 \
    && rm -rf /tmp/build-home \
    && chmod -R a+rX /opt/openclaw/static  # the command's umask (0077) made them root's alone
USER openclaw
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# First-run steps (migrations, admin user, default agent; safe to repeat), then the gateway.
# Binding beyond loopback needs OPENCLAW_GATEWAY_TOKEN (the gateway refuses to start without).
CMD ["sh", "-c", "openclaw onboard --no-input --initial-admin --warn-only --timeout 10 && exec openclaw gateway"]
