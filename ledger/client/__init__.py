"""The principal's side: keys in a local keyring, envelopes and signatures. The service never reads it."""
