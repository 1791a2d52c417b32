"""The hub's side of the regional information-support system (ИСЗЛ): the notifications it is pushed."""
