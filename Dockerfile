# syntax=docker/dockerfile:1
# One image for every chibo process (meetings, evaluation, notifications, gateway, the demo mail sink):
#   docker build -t chibo .   then   docker run chibo services.meetings serve
# Built from uv.lock (no resolution at build time), browser assets from the package-lock files, and run
# as an unprivileged user without a shell login or write access to the code.

FROM python:3.11-slim AS python-deps
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
COPY pyproject.toml uv.lock README.md LICENSE ./
RUN uv sync --frozen --no-dev --no-install-project
COPY shared ./shared
COPY services ./services
COPY deploy/__init__.py deploy/mailsink.py ./deploy/
RUN uv sync --frozen --no-dev
# UV_COMPILE_BYTECODE compiles the installed packages; chibo's own (installed editable) are compiled here, since
# the runtime sets PYTHONDONTWRITEBYTECODE=1 and could not write to /app anyway: processes start from bytecode
RUN /app/.venv/bin/python -m compileall -q --invalidation-mode timestamp shared services deploy

FROM node:22-slim AS web-assets
WORKDIR /assets
COPY services/gateway/web/package.json services/gateway/web/package-lock.json ./web/
COPY shared/asyncapi_ui/package.json shared/asyncapi_ui/package-lock.json ./asyncapi_ui/
RUN npm ci --prefix web --omit=dev --no-audit --no-fund \
 && npm ci --prefix asyncapi_ui --omit=dev --no-audit --no-fund

FROM python:3.11-slim AS runtime
RUN groupadd --system --gid 10001 chibo \
 && useradd --system --uid 10001 --gid chibo --no-create-home --shell /usr/sbin/nologin chibo
WORKDIR /app
COPY --from=python-deps /app /app
COPY --from=web-assets /assets/web/node_modules /app/services/gateway/web/node_modules
COPY --from=web-assets /assets/asyncapi_ui/node_modules/@asyncapi/react-component/browser \
     /app/shared/asyncapi_ui/node_modules/@asyncapi/react-component/browser
COPY --from=web-assets /assets/asyncapi_ui/node_modules/@asyncapi/react-component/styles \
     /app/shared/asyncapi_ui/node_modules/@asyncapi/react-component/styles
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CHIBO_HTTP_HOST=0.0.0.0 \
    CHIBO_LOG_JSON=true
USER 10001:10001
EXPOSE 8000 8101 8102 8103
ENTRYPOINT ["python", "-m"]
CMD ["services.gateway", "serve"]
