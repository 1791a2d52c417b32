"""Use cases of the register: the service layer."""
