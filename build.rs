//! Records the git commit being built as `KV_GATEWAY_COMMIT`, for
//! `--version`. A build outside a checkout (a source tarball, a Docker
//! build context without `.git`) says `unknown`, or what
//! `KV_GATEWAY_COMMIT` in the build's environment says.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=KV_GATEWAY_COMMIT");
    let commit = std::env::var("KV_GATEWAY_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=KV_GATEWAY_COMMIT={commit}");
    // Rebuilt when HEAD moves: a checkout changes HEAD, a commit changes
    // the branch it points at (or packed-refs).
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for path in watched {
        if let Some(file) = git(&["rev-parse", "--git-path", &path]) {
            if std::path::Path::new(&file).exists() {
                println!("cargo:rerun-if-changed={file}");
            }
        }
    }
}
