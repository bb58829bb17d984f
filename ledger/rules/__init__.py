"""The § 6103 rules engine: the exception catalog as data plus named, versioned checks."""
