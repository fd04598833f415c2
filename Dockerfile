FROM python:3.11-slim
# A regular (not editable) install: the mapping tables and the seed study ship inside the package.
COPY pyproject.toml README.md /src/
COPY fhirtrial /src/fhirtrial
RUN pip install --no-cache-dir /src && rm -rf /src
# The default database (/data/fhirtrial.db) and the $export files (/data/export) live in the volume.
ENV FHIRTRIAL_DATA_DIR=/data
VOLUME /data
WORKDIR /data
EXPOSE 8000
CMD ["fhirtrial", "serve", "--host", "0.0.0.0", "--port", "8000", "--load-examples"]
