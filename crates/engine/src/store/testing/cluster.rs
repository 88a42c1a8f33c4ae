//! The test binary's PostgreSQL server: the test kit's ([`simrelay_testkit::postgres`]), which the fault tests and
//! the benchmarks start the same way (`initdb` in a temporary directory, its own port, no system service).

pub(crate) use simrelay_testkit::postgres::Cluster;
