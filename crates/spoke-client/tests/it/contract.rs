//! Every route the client calls exists in the vendored OpenAPI description.

use std::path::PathBuf;

use serde_json::Value;

#[test]
fn every_client_route_exists_in_the_vendored_openapi_description() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi/atspoke-openapi.yaml");
    let spec: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(spoke_client::ROUTES.len(), 17, "E1-E17");
    for (method, route) in spoke_client::ROUTES {
        let op = &spec["paths"][*route][method.to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "{method} {route} is not in the OpenAPI description"
        );
    }
}

#[test]
fn the_fake_serves_exactly_the_routes_the_client_calls() {
    let mut client: Vec<_> = spoke_client::ROUTES.to_vec();
    let mut fake: Vec<_> = spoke_fake::ROUTES.to_vec();
    client.sort_unstable();
    fake.sort_unstable();
    assert_eq!(client, fake);
}
