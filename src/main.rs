//! The `hoist` binary: parse arguments, start the runtime, run the app, map the outcome to an exit code.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use hoist::cli::{BuildRequest, Cli, Command, request::Environment};
use hoist::output::Printer;

fn main() -> ExitCode {
    let Command::Build(args) = Cli::parse().command;
    let printer = Arc::new(Printer::new(args.progress.into()));
    let result = BuildRequest::from_args(args, &Environment::from_process())
        .map_err(anyhow::Error::from)
        .and_then(|req| {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(hoist::app::build(&req, printer.clone()))
        });
    match result {
        Ok(exported) => {
            printer.finish();
            for e in exported {
                match e.pushed {
                    true => println!("{}@{}", e.destination, e.descriptor.digest),
                    false => println!("{}", e.descriptor.digest),
                }
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            printer.error(&err);
            ExitCode::FAILURE
        }
    }
}
