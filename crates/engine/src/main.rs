//! `simrelay`: the headless SimRelay. Parses arguments and hands over to the `simrelay_engine` library.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    cli::Cli::parse().run()
}
