"""XMLDSig core and X.509 trust."""
