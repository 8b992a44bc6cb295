//! The `hoist` binary: parse arguments, start the runtime, run the app, map the outcome to an exit code.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use hoist::cli::args::BuildArgs;
use hoist::cli::request::Environment;
use hoist::cli::{
    BuildRequest, Cli, Command, CopyRequest, InspectRequest, Login, Logout, ProgressMode,
    PruneRequest, RegistryTls, ValidateArgs, ValidateRequest,
};
use hoist::output::Printer;

fn main() -> ExitCode {
    // The RUN sandbox re-executes hoist; see `executor::sandbox`.
    if std::env::args_os().nth(1).is_some_and(|a| a == "__sandbox") {
        let verdicts = |dir: &std::path::Path| hoist::validate::Verdicts::new(dir).tap();
        return ExitCode::from(hoist::executor::sandbox::child::main(&verdicts) as u8);
    }
    match Cli::parse().command {
        Command::Build(args) => build(args),
        Command::Parse(args) => print(hoist::app::commands::parse(&args)),
        Command::Context(args) => print(hoist::app::commands::context(&args)),
        Command::Validate(args) => validate(args),
        Command::Copy(args) => {
            let printer = Arc::new(Printer::new(args.progress.into()));
            let result = CopyRequest::from_args(args, &Environment::from_process())
                .map_err(anyhow::Error::from)
                .and_then(|req| block_on(hoist::app::transfer::copy(&req, printer.clone())));
            printer.finish();
            match result {
                Ok(e) => print(Ok(format!("{}@{}\n", e.destination, e.descriptor.digest))),
                // Through the printer: a JSON line with `--progress json`.
                Err(err) => {
                    printer.error(&err);
                    ExitCode::FAILURE
                }
            }
        }
        Command::Inspect(args) => print(
            InspectRequest::from_args(args, &Environment::from_process())
                .map_err(anyhow::Error::from)
                .and_then(|req| block_on(hoist::app::transfer::inspect(&req))),
        ),
        Command::Login(args) => report(
            Login::from_args(&args, &mut std::io::stdin().lock())
                .map_err(anyhow::Error::from)
                .and_then(|login| {
                    let tls = RegistryTls::from_args(&args.tls)?;
                    block_on(hoist::app::login::login(&login, &tls))
                }),
        ),
        Command::Logout(args) => report(
            Logout::from_args(&args)
                .map_err(anyhow::Error::from)
                .and_then(|logout| block_on(hoist::app::login::logout(&logout))),
        ),
        Command::Detect(args) => detect(&args),
        Command::Prune(args) => print(
            PruneRequest::from_args(args, &Environment::from_process())
                .map_err(anyhow::Error::from)
                .and_then(|req| hoist::app::prune::prune(&req, &mut |line| eprintln!("{line}"))),
        ),
    }
}

/// The report to stdout; 0 when the image passed, 1 with findings or when it could not be read.
fn validate(args: ValidateArgs) -> ExitCode {
    let printer = Arc::new(Printer::new(args.progress.into()));
    let result = ValidateRequest::from_args(args, &Environment::from_process())
        .map_err(anyhow::Error::from)
        .and_then(|req| {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(hoist::app::validate::validate(&req, printer.clone()))
        });
    printer.finish();
    match result {
        Ok(report) => match print(Ok(report.text)) {
            code if report.ok => code,
            _ => ExitCode::FAILURE,
        },
        Err(err) => {
            printer.error(&err);
            ExitCode::FAILURE
        }
    }
}

fn block_on<T>(future: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Runtime::new()?.block_on(future)
}

/// A message to stderr, or the error.
fn report(result: anyhow::Result<String>) -> ExitCode {
    match result {
        Ok(message) => {
            eprintln!("{message}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            Printer::new(ProgressMode::Plain).error(&err);
            ExitCode::FAILURE
        }
    }
}

/// `hoist detect`: the data to stdout (even when it fails: an empty group), warnings and the error to
/// stderr.
fn detect(args: &hoist::cli::DetectArgs) -> ExitCode {
    let output = hoist::app::commands::detect(args);
    let _ = std::io::stdout().lock().write_all(output.stdout.as_bytes());
    for warning in &output.warnings {
        eprintln!("warning: {warning}");
    }
    match output.error {
        Some(err) => {
            Printer::new(ProgressMode::Plain).error(&err);
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    }
}

/// Data to stdout, or the error to stderr.
fn print(result: anyhow::Result<String>) -> ExitCode {
    let result = result.and_then(|text| Ok(std::io::stdout().lock().write_all(text.as_bytes())?));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            Printer::new(ProgressMode::Plain).error(&err);
            ExitCode::FAILURE
        }
    }
}

fn build(args: BuildArgs) -> ExitCode {
    let printer = Arc::new(Printer::new(args.progress.into()));
    let stdin = &mut std::io::stdin().lock();
    let result = BuildRequest::from_args(args, &Environment::from_process(), stdin)
        .map_err(anyhow::Error::from)
        .and_then(|req| {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(hoist::app::build(&req, printer.clone()))
        });
    match result {
        Ok(exported) => {
            printer.finish();
            // stdout: `NAME@DIGEST` per pushed name; the bare digest when nothing was pushed.
            let pushed: Vec<_> = exported.iter().filter(|e| e.pushed).collect();
            match (pushed.is_empty(), exported.first()) {
                (false, _) => pushed
                    .iter()
                    .for_each(|e| println!("{}@{}", e.destination, e.descriptor.digest)),
                (true, Some(e)) => println!("{}", e.descriptor.digest),
                (true, None) => {}
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            printer.error(&err);
            exit_code(&err)
        }
    }
}

/// 3 when the image would not run on its platform (documented in `--help`), 1 for every other failure.
fn exit_code(err: &anyhow::Error) -> ExitCode {
    let mismatch = err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<hoist::validate::ArchitectureError>(),
            Some(hoist::validate::ArchitectureError::Mismatch { .. })
        )
    });
    if mismatch {
        ExitCode::from(3)
    } else {
        ExitCode::FAILURE
    }
}
