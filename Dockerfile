# tradewire in a container. Build from the repository root:
#   docker build -t tradewire .        (or: docker compose up --build)
# With no keys it trades the sample strategy against the built-in simulator; pass keys with
# an env file (.env: POLYGON_API_KEY, ALPACA_API_KEY, ALPACA_API_SECRET) for Alpaca paper.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml setup.py README.md requirements.txt ./
COPY scripts/constraints.sh ./scripts/
COPY src ./src
# gcc builds the native order path (issue 26) at the pip install below; without it the install
# still succeeds and the engine runs its pure-Python order path (one line at start says so).
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
# The versions the suite was tested with, as constraints, made as scripts/bootstrap.sh makes
# them for ./run.sh and ./test.sh: the image runs what was tested, not today's releases.
RUN sh scripts/constraints.sh requirements.txt constraints.txt \
    && pip install -c constraints.txt . \
    && python -c "import tradewire.engine.native._orderpath" \
    && useradd --system --uid 10001 --home-dir /app tradewire
COPY config ./config
COPY examples ./examples
RUN mkdir -p /app/var/journal && chown -R tradewire /app/var
USER tradewire
# 9090: Prometheus metrics. The kill switch (9091) stays on the container's loopback:
#   docker compose exec tradewire tradewire kill --reason "..."
EXPOSE 9090
VOLUME ["/app/var"]
ENTRYPOINT ["tradewire"]
CMD ["run", "--no-panel", "--config", "config/docker.yaml"]
