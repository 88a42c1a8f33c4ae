//! AT modem driver and simulator. Being written: see issues 2 and 4.
