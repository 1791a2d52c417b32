"""PostgreSQL adapter: tables, engine, migrations, bulk COPY and repositories."""
