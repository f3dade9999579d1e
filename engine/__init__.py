"""callqa: speech-analytics QA engine for recorded customer-service calls."""

import engine.runtime  # noqa: F401  (offline flags before any model library loads)
