//! Every Lambda as its real binary (dev profile: the same `main.rs` as the release build) behind the Runtime
//! API emulator, driven by the demo's flows: a configuration mistake in a `main.rs` (a missing variable, a
//! client built from the wrong setting, a secret read that fails) fails here, not at deploy time.

use demo::binaries::FUNCTIONS;
use demo::{StackOptions, flows};
use devstack::function_process::{Output, Profile};

#[tokio::test]
async fn every_flow_passes_with_each_function_running_as_its_real_binary() {
    let (stack, binaries) =
        demo::start_binaries(StackOptions::ephemeral(), Profile::Dev, Output::Capture)
            .await
            .expect("the binaries build and start against the stack");

    let rows = flows::replay(&stack).await;

    let mut outputs = String::new();
    for function in FUNCTIONS {
        let output = binaries.output(function).await.unwrap_or_default();
        outputs.push_str(&format!("\n--- {function}\n{output}"));
    }
    let failed: Vec<_> = rows.iter().filter(|r| !r.ok).collect();
    assert!(
        failed.is_empty(),
        "failed steps: {failed:#?}\nfunction output:{outputs}"
    );
    // Each binary, not an in-process handler, answered: its emulator handed it events.
    for function in FUNCTIONS {
        let taken = binaries.invocations(function).await.unwrap();
        assert!(taken > 0, "{function} took no event{outputs}");
    }
    stack.shutdown().await;
    binaries.stop().await;
}
