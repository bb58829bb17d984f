"""The § 6103 domain: address rules, the synthetic IRS master file and the matcher."""
