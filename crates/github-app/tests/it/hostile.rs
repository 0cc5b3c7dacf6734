//! Hostile input (issue 14): property tests of `X-Hub-Signature-256` verification. Arbitrary headers and
//! bodies never panic; a signature made with a configured secret verifies; every single-byte change of the
//! body or of the header is refused.

use github_app::{SignatureError, sign_webhook_body, verify_webhook_signature};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed};
use secrecy::SecretString;

/// Few, reproducible cases: the suite runs on every CI build.
fn config() -> Config {
    Config {
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(14),
        ..Config::with_cases(256)
    }
}

fn secrets(list: &[String]) -> Vec<SecretString> {
    list.iter().map(|s| SecretString::from(s.clone())).collect()
}

/// `bytes` with the byte at `at` replaced by a different one.
fn flip(bytes: &[u8], at: &Index, delta: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let i = at.index(out.len());
    out[i] = out[i].wrapping_add(delta);
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_headers_and_bodies_never_panic_and_never_verify(
        header in proptest::option::of(".{0,80}"),
        prefixed in "sha256=[0-9a-fA-F]{0,70}",
        body in proptest::collection::vec(any::<u8>(), 0..512),
        secret in "[ -~]{1,40}",
    ) {
        let secrets = secrets(&[secret]);
        for candidate in [header.as_deref(), Some(prefixed.as_str())] {
            let result = verify_webhook_signature(&secrets, candidate, &body);
            let expected_sig = sign_webhook_body(&secrets[0], &body);
            if candidate != Some(expected_sig.as_str()) {
                prop_assert!(result.is_err(), "{candidate:?} verified");
            }
        }
        prop_assert_eq!(verify_webhook_signature(&secrets, None, &body), Err(SignatureError::Missing));
    }

    #[test]
    fn a_signed_body_verifies_and_every_single_byte_change_is_refused(
        body in proptest::collection::vec(any::<u8>(), 1..512),
        current in "[ -~]{1,40}",
        previous in "[ -~]{1,40}",
        use_previous in any::<bool>(),
        at in any::<Index>(),
        delta in 1u8..=255,
    ) {
        let secrets = secrets(&[current, previous]);
        let signer = &secrets[usize::from(use_previous)];
        let header = sign_webhook_body(signer, &body);
        prop_assert_eq!(verify_webhook_signature(&secrets, Some(&header), &body), Ok(()));

        let changed_body = flip(&body, &at, delta);
        prop_assert_eq!(
            verify_webhook_signature(&secrets, Some(&header), &changed_body),
            Err(SignatureError::Mismatch)
        );

        let changed_header = flip(header.as_bytes(), &at, delta);
        let changed_header = String::from_utf8_lossy(&changed_header);
        prop_assert!(verify_webhook_signature(&secrets, Some(&changed_header), &body).is_err(),
            "{changed_header} verified");
    }
}

/// Every position of the header, replaced by every other byte value: all refused (exhaustive, so a single
/// accepted variant such as an upper-cased hex digit cannot slip through).
#[test]
fn every_single_byte_change_of_the_signature_header_is_refused() {
    let secrets = secrets(&["It's a Secret to Everybody".to_owned()]);
    let body = b"Hello, World!";
    let header = sign_webhook_body(&secrets[0], body);
    assert_eq!(
        verify_webhook_signature(&secrets, Some(&header), body),
        Ok(())
    );
    for i in 0..header.len() {
        for delta in 1..=255u8 {
            let mut bytes = header.as_bytes().to_vec();
            bytes[i] = bytes[i].wrapping_add(delta);
            let Ok(text) = String::from_utf8(bytes) else {
                continue; // not a header value a request can carry as text
            };
            assert!(
                verify_webhook_signature(&secrets, Some(&text), body).is_err(),
                "header changed at byte {i} to {text:?} verified"
            );
        }
    }
}
