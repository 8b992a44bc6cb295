//! The `lifecycle` multi-call binary: the phase is argv[0]'s file name (`detector`, `builder`,
//! `creator`, `launcher`, or a process type under `/cnb/process/`), or the first argument when
//! argv[0] is `lifecycle`. Everything else is in the library.

fn main() {
    let code = cnb_lifecycle::run(std::env::args_os().collect());
    std::process::exit(code);
}
