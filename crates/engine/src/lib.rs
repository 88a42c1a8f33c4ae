//! SimRelay engine. Being written: see issue 2.
