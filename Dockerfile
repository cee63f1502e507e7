# slaflow: one image for every process; docker-compose.yml picks the role with `command`
# (["slaflow", "worker"], ["slaflow", "api"], ["slaflow", "db", "upgrade"], ...).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The project as pyproject.toml packages it: the packages, the worker module, the metadata.
COPY pyproject.toml README.md worker.py ./
COPY slaflow ./slaflow
COPY workflows ./workflows
COPY activities ./activities
COPY starter ./starter
COPY standins ./standins
RUN pip install . && rm -rf build ./*.egg-info

# Agreement files, one per agreement; SLAFLOW_AGREEMENT_FILE points at a file or directory.
COPY agreements ./agreements

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home slaflow \
    && mkdir -p /app/data \
    && chown slaflow:slaflow /app/data

ENV SLAFLOW_AGREEMENT_FILE=/app/agreements \
    SLAFLOW_DATA_DIR=/app/data \
    SLAFLOW_API_HOST=0.0.0.0

USER slaflow
EXPOSE 8000 9464 9465

# No ENTRYPOINT: compose's `command` is the whole command line.
CMD ["slaflow", "api"]
