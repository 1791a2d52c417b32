"""One module per SOAP service: request element → use case → response element."""
