# syntax=docker/dockerfile:1
#
# rotator's container image: a virtual environment built in one stage, copied
# into a slim runtime that runs as a non-root user.
#
#   docker build -t rotator .                                   # from PyPI, official Python base
#   pip wheel '.[examples]' -w build/wheels && \
#     podman build --build-arg BASE_IMAGE=localhost/debian-python:bookworm \
#                  --build-arg WHEELS=local -t rotator .       # offline, from local wheels
#
# Run it read-only: mount the config at /etc/rotator/rotator.yaml and any token
# or secret-id files read-only; the audit file (if any) goes to the
# /var/log/rotator volume; nothing else is written.

ARG BASE_IMAGE=python:3.12-slim
# pypi: build the wheels in the image from PyPI; local: take them from build/wheels.
ARG WHEELS=pypi

FROM ${BASE_IMAGE} AS wheels-pypi
COPY pyproject.toml README.md /src/
COPY rotator /src/rotator
RUN python3 -m pip wheel --no-cache-dir --wheel-dir /wheels '/src[examples]'

FROM ${BASE_IMAGE} AS wheels-local
COPY build/wheels /wheels

FROM wheels-${WHEELS} AS wheels

FROM ${BASE_IMAGE} AS build
COPY --from=wheels /wheels /wheels
RUN python3 -m venv /opt/rotator \
 && /opt/rotator/bin/pip install --no-cache-dir --no-index --find-links /wheels rotator \
 && /opt/rotator/bin/pip install --no-cache-dir --no-index --find-links /wheels 'rotator[examples]' \
      --target /opt/examples-site

FROM ${BASE_IMAGE} AS runtime
RUN (getent group 10001 || groupadd --system --gid 10001 rotator) \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin rotator \
 && mkdir -p /etc/rotator /var/log/rotator \
 && chown 10001:10001 /var/log/rotator
COPY --from=build /opt/rotator /opt/rotator
ENV PATH=/opt/rotator/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ROTATOR_CONFIG=/etc/rotator/rotator.yaml
USER 10001:10001
VOLUME ["/var/log/rotator"]
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4)"]
ENTRYPOINT ["rotator"]
CMD ["run"]

# The example Flask app of examples/flask_app, for docker-compose.yml.
FROM runtime AS example-app
COPY --from=build /opt/examples-site /opt/examples-site
COPY examples/flask_app /app
ENV PYTHONPATH=/opt/examples-site
EXPOSE 5000
HEALTHCHECK NONE
ENTRYPOINT ["python3", "-m", "flask", "--app", "/app/app.py", "run", "--host", "0.0.0.0", "--port", "5000"]
CMD []

FROM runtime
