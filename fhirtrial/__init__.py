"""fhirtrial: a FHIR R4 server for clinical-trial data, https://hl7.org/fhir/R4/."""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
