"""Reference lists the record validates against: places, ethnic groups, codes."""
