//! Registry credentials from a Docker config: the `.dockerconfigjson` of a
//! Kubernetes image pull secret, `{"auths": {"<registry>": {"auth":
//! "<base64 user:password>"}}}` or with `username` and `password`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) username: String,
    pub(crate) password: String,
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    auths: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

/// Credentials by registry host (`ghcr.io`, `registry.example.com:5000`).
pub(crate) fn load(path: &Path) -> anyhow::Result<BTreeMap<String, Credentials>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --registry-config {}", path.display()))?;
    parse(&text).with_context(|| format!("--registry-config {}", path.display()))
}

pub(crate) fn parse(text: &str) -> anyhow::Result<BTreeMap<String, Credentials>> {
    const SHAPE: &str =
        "not a Docker config: expected {\"auths\": {\"<registry>\": {\"auth\": \"...\"}}}";
    let value: serde_json::Value = serde_json::from_str(text).context(SHAPE)?;
    anyhow::ensure!(value.is_object(), SHAPE);
    for helper in ["credsStore", "credHelpers"] {
        anyhow::ensure!(
            value.get(helper).is_none(),
            "{helper}: credential helpers are not run; put the credentials under auths"
        );
    }
    let file: File = serde_json::from_value(value).context(SHAPE)?;
    let mut out = BTreeMap::new();
    for (key, entry) in file.auths {
        let host = host_of(&key);
        anyhow::ensure!(
            entry.identitytoken.is_none(),
            "auths.{key}: identitytoken (a credential helper's token) is not supported; give auth or username and password"
        );
        let credentials = match (entry.auth, entry.username, entry.password) {
            (_, Some(username), Some(password)) => Credentials { username, password },
            (Some(auth), _, _) => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .with_context(|| format!("auths.{key}.auth is not base64"))?;
                let decoded = String::from_utf8(decoded)
                    .with_context(|| format!("auths.{key}.auth is not UTF-8"))?;
                let (username, password) = decoded
                    .split_once(':')
                    .with_context(|| format!("auths.{key}.auth must encode user:password"))?;
                Credentials {
                    username: username.to_string(),
                    password: password.to_string(),
                }
            }
            _ => anyhow::bail!("auths.{key}: give auth, or username and password"),
        };
        out.insert(host, credentials);
    }
    Ok(out)
}

/// `https://index.docker.io/v1/` names Docker Hub's registry host.
fn host_of(key: &str) -> String {
    let without_scheme = key.split_once("://").map_or(key, |(_, rest)| rest);
    let host = without_scheme.split('/').next().unwrap_or(without_scheme);
    match host {
        "docker.io" => "index.docker.io".to_string(),
        host => host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_and_docker_hub_keys_are_read() {
        let auth = base64::engine::general_purpose::STANDARD.encode("robot:s3cret");
        let parsed = parse(&format!(
            r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{auth}"}}, "registry.example.com:5000": {{"username": "u", "password": "p"}}}}}}"#
        ))
        .unwrap();
        assert_eq!(parsed["index.docker.io"].username, "robot");
        assert_eq!(parsed["index.docker.io"].password, "s3cret");
        assert_eq!(parsed["registry.example.com:5000"].password, "p");
    }

    #[test]
    fn what_cannot_be_used_is_an_error_naming_the_entry() {
        let err = parse(r#"{"auths": {"ghcr.io": {"identitytoken": "t"}}}"#).unwrap_err();
        assert!(
            format!("{err:#}").contains("auths.ghcr.io: identitytoken"),
            "{err:#}"
        );
        let err = parse(r#"{"auths": {"ghcr.io": {}}}"#).unwrap_err();
        assert!(format!("{err:#}").contains("auths.ghcr.io"), "{err:#}");
        assert!(parse("[]").is_err());
        let err = parse(r#"{"credsStore": "desktop"}"#).unwrap_err();
        assert!(format!("{err:#}").contains("credsStore"), "{err:#}");
    }
}
