//! The host is generic: its source names no cloud and no `cloud` label
//! outside tests and comments. Modules declare what they serve; the host
//! matches labels without knowing what they mean.

mod common;

use std::path::Path;

/// Words that would mean the host knows what the platform composes.
const CLOUD_WORDS: &[&str] = &[
    "cloud", "clouds", "gcp", "aws", "azure", "gke", "eks", "aks",
];

/// Names that contain such a word and mean something else: rustls' crypto
/// provider.
const NOT_CLOUDS: &[&str] = &["aws_lc_rs"];

/// The code of a Rust file: without comments (a `//` at the start of a
/// line or after whitespace, so `oci://` stays) and without its unit tests
/// (from `#[cfg(test)]` on, which this project keeps at the end of a file).
fn code(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = match line
            .match_indices("//")
            .find(|(at, _)| *at == 0 || line[..*at].ends_with(char::is_whitespace))
        {
            Some((at, _)) => &line[..at],
            None => line,
        };
        lines.push((n + 1, code.to_string()));
    }
    lines
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_host_source_names_no_cloud() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in code(&text) {
            let line = NOT_CLOUDS.iter().fold(line, |l, name| l.replace(name, ""));
            let hit = line
                .split(|c: char| !c.is_ascii_alphanumeric())
                .find(|w| CLOUD_WORDS.contains(&w.to_ascii_lowercase().as_str()));
            if let Some(word) = hit {
                found.push(format!(
                    "{}:{n}: {word:?} in {}",
                    file.display(),
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the host knows of clouds:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_sees_code_and_skips_comments_and_tests() {
    let text = "let a = \"gcp\"; // aws\n// azure\nlet url = \"oci://x\";\n#[cfg(test)]\nmod tests { cloud }\n";
    let lines: Vec<String> = code(text).into_iter().map(|(_, l)| l).collect();
    assert_eq!(lines, ["let a = \"gcp\"; ", "", "let url = \"oci://x\";"]);
}
