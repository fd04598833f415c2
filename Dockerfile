FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY fhirtrial ./fhirtrial
COPY mappings ./mappings
COPY examples ./examples
RUN pip install --no-cache-dir -e .
ENV FHIRTRIAL_DATABASE_URL=sqlite:////data/fhirtrial.db \
    FHIRTRIAL_MAPPINGS_DIR=/app/mappings \
    FHIRTRIAL_EXAMPLES_DIR=/app/examples
VOLUME /data
EXPOSE 8000
CMD ["fhirtrial", "serve", "--host", "0.0.0.0", "--port", "8000", "--load-examples"]
