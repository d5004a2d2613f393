# Emoticon: one image for the gateway and the three stage workers (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EMOTICON_MODEL_DIR=/app/models \
    EMOTICON_CACHE_DIR=/app/cache

# onnxruntime links libgomp; skia-python (the composer's rasteriser) links libGL/libEGL (glvnd, with libX11),
# though it never draws on a GPU here; nothing else beyond the wheels is needed (opencv is the headless build)
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 libgl1 libegl1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY services ./services
COPY gateway ./gateway
COPY emoticon_client ./emoticon_client
COPY training ./training
COPY models ./models
RUN pip install .
# Celery's monitor (Flower) for the optional `monitor` profile of docker-compose.yml
RUN pip install ".[monitor]"

# Bake the models in at build time: fetch the res10 detector (sha256-checked) and check the heads, so a
# container starts without network access.
RUN emoticon setup

RUN useradd --system --uid 10001 --home-dir /app emoticon && chown -R emoticon /app/cache
USER emoticon

EXPOSE 8000
CMD ["emoticon", "serve", "--distributed", "--host", "0.0.0.0"]
