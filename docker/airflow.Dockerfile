# Airflow with wirewatch installed, for docker-compose.yml.
# Build context: the repository root (see docker-compose.yml).
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2
FROM ${AIRFLOW_IMAGE}

# An editable install keeps kibana/saved_objects.ndjson beside the package, where `wirewatch setup` looks.
COPY --chown=airflow:0 . /opt/wirewatch

# Pinning apache-airflow to the image's own version stops pip from moving Airflow while resolving.
RUN pip install --no-cache-dir \
        "apache-airflow==${AIRFLOW_VERSION}" \
        "apache-airflow-providers-smtp>=2.0" \
        -e "/opt/wirewatch[elasticsearch]"
