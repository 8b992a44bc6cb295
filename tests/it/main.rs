//! Integration tests: the one test binary (see testing guide).
