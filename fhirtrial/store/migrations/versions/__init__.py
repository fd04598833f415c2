"""Migration scripts, applied in order by ``fhirtrial.store.migrate.migrate``."""
