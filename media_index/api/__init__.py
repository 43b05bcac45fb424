"""The versioned REST API (``/api/v1/``) for mobile clients."""
