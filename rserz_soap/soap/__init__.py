"""The SOAP edge: hardening front, WS-Security, dispatch to the services, faults, journal, idempotency."""
