use std::process::ExitCode;

/// Every command lives in `better_auth_rs::cli` (docs/operations.md §5).
#[tokio::main]
async fn main() -> ExitCode {
    better_auth_rs::cli::run().await
}
