//! A MariaDB server of a test's own, and the shared server's guard (moved here from the tests).
