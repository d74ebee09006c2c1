//! `goodput-lab`: with no command it opens the workbench; commands run the engine from the
//! command line.
use clap::Parser;
use goodput_lab::cli;

fn main() {
    let args = cli::Cli::parse();
    if let Err(e) = cli::run(args) {
        eprintln!("error: {}", cli::flags::describe(&e));
        std::process::exit(1);
    }
}
