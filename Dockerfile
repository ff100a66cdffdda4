# opsbot for Cloud Run: `opsbot serve` on $PORT as a non-root user.
# The base names its Debian release: `python:3.11-slim` moved from bookworm to trixie in August
# 2025, and the git pin below is bookworm's. Change both together (tests/unit/test_dockerfile.py).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md opsbot.toml ./
COPY adapters ./adapters
COPY bot ./bot
COPY checks ./checks
COPY cli ./cli
COPY commands ./commands
COPY config ./config
COPY infra ./infra
COPY opsbot ./opsbot
COPY sandbox ./sandbox
COPY store ./store
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080
# git: /drift reads a checkout of the platform monorepo (see the README's deployment notes).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git=1:2.39.* \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 opsbot
COPY --from=build /install /usr/local
USER 10001
WORKDIR /home/opsbot
EXPOSE 8080
# Logs are one JSON object a line on stderr: Cloud Logging's structured entries.
CMD ["opsbot", "serve", "--log-format", "json"]
