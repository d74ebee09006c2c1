//! `goodput-lab`: the Goodput Lab command line (the workbench GUI arrives in a later issue).
mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    if let Err(e) = cli::run(args) {
        eprintln!("error: {}", cli::flags::describe(&e));
        std::process::exit(1);
    }
}
