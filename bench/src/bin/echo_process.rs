//! A tiny native echo: read the JSON object on stdin, write it to stdout.
//! The benchmark spawns it once per execution, the least a platform that
//! runs connectors as processes pays.

use std::io::{Read, Write};

fn main() {
    let mut input = String::new();
    if std::io::stdin().read_to_string(&mut input).is_err() {
        std::process::exit(2);
    }
    let output = workway_bench::native_echo(&input);
    if std::io::stdout().write_all(output.as_bytes()).is_err() {
        std::process::exit(2);
    }
}
