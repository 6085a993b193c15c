"""GitOps: rendered manifests validated before they are written or committed
(:mod:`foresight.gitops.validate`)."""

from foresight.gitops.validate import (
    SCHEMA_DIR_ENV,
    CrdSchemas,
    Problem,
    Validation,
    draft4,
    find_schema_dir,
    validate_manifests,
)

__all__ = ["SCHEMA_DIR_ENV", "CrdSchemas", "Problem", "Validation", "draft4", "find_schema_dir", "validate_manifests"]
