//! The `plugboard` binary: parse the command line and hand over.
use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    server::cli::Cli::parse().run().await
}
