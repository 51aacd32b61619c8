"""Research-only code, apart from the product path: OR-Library and Unicamp `.pol` readers, the art gallery
solver and the seeded mall-floor generator (used by the `scp`/`agp` commands, benchmarks and tests)."""
