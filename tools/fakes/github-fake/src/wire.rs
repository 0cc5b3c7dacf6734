//! A webhook body as GitHub puts it on the wire (README, "Webhook bodies"): compact JSON whose keys follow
//! GitHub's order, not the sorted order a `serde_json::Value` serialises to, so a receiver that parses and
//! re-serialises before checking `X-Hub-Signature-256` fails against the fake as it would against GitHub.

use serde_json::Value;

/// The keys of the payloads the fake sends, in the order GitHub writes them: the top level (`action`, the
/// event's own objects, then `repository`, `organization`, `sender`, `installation`), `changes`, and the user,
/// organisation and repository objects (`login, id, node_id, …, type, site_admin`; `id, node_id, name,
/// full_name, private, owner, …`). Keys not listed follow the listed ones, in the order they came.
const KEY_ORDER: &[&str] = &[
    "action",
    "zen",
    "hook_id",
    "hook",
    "member",
    "changes",
    "old_permission",
    "permission",
    "role_name",
    "from",
    "to",
    "repository",
    "organization",
    "sender",
    "installation",
    "login",
    "id",
    "node_id",
    "name",
    "full_name",
    "private",
    "owner",
    "html_url",
    "url",
    "type",
    "site_admin",
    "archived",
    "visibility",
];

/// `payload` as the bytes GitHub would deliver and sign.
pub(crate) fn github_body(payload: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out, payload);
    out
}

fn rank(key: &str) -> usize {
    KEY_ORDER
        .iter()
        .position(|k| *k == key)
        .unwrap_or(KEY_ORDER.len())
}

fn write(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by_key(|(key, _)| rank(key));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(out, &Value::from(key.as_str()));
                out.push(b':');
                write(out, item);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(out, item);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn writes_compact_json_in_githubs_key_order_and_keeps_the_value() {
        let payload = json!({
            "sender": {"type": "User", "site_admin": false, "login": "alice", "id": 2},
            "action": "added",
            "zzz_unknown": "ü \"quoted\"",
            "repository": {"private": true, "name": "widgets", "id": 7, "full_name": "acme/widgets"},
        });
        let body = String::from_utf8(github_body(&payload)).unwrap();
        assert_eq!(
            body,
            r#"{"action":"added","repository":{"id":7,"name":"widgets","full_name":"acme/widgets","private":true},"sender":{"login":"alice","id":2,"type":"User","site_admin":false},"zzz_unknown":"ü \"quoted\""}"#
        );
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), payload);
    }
}
