"""The one WSGI application: SOAP services, the admin console, health and metrics."""
