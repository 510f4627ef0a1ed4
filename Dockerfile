# syntax=docker/dockerfile:1
# The production image: `vncomply <command>` (api, worker, beat, migrate, …); see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them: install the package from a copy
# of the metadata with an empty module, then replace the code.
COPY pyproject.toml README.md ./
RUN mkdir -p src/vncomply && touch src/vncomply/__init__.py \
    && pip install . \
    && rm -rf src

COPY alembic.ini ./
COPY migrations ./migrations
COPY src ./src
# Editable (a .pth to /app/src, no copy): `vncomply migrate` and /readyz find alembic.ini and
# migrations/ next to the package, as in a checkout. --no-deps: they are installed above.
RUN pip install --no-deps -e . \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin vncomply

USER vncomply
EXPOSE 8000
ENTRYPOINT ["vncomply"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
