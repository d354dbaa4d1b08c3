"""The services' database fixtures (SQLite, and PostgreSQL under the ``real`` mark), shared."""

from tests.integration.services.conftest import admin, backend, db_url, settings  # noqa: F401
from tests.real.conftest import postgres_env  # noqa: F401
