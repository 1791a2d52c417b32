"""Process plumbing: embedded PostgreSQL and Redis, the `rserz up` supervisor, logging."""
