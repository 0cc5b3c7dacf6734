//! `byods`: the operator CLI of byods-extender; everything is in the library's `cli` module.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    byods_extender::cli::main().await
}
