//! The StarRocks stand-in (test-only; being written).
