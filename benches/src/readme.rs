//! Rewriting one generated section of `benches/README.md`.

use std::path::Path;

/// Replaces the text between `<!-- {name}:start -->` and `<!-- {name}:end -->` in the README
/// with `body`, or appends the section under `heading` when the markers are missing.
pub fn replace_section(name: &str, heading: &str, body: &str) -> std::io::Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    let section = format!("{start}\n{body}{end}");
    let new = match (text.find(&start), text.find(&end)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{section}{}", &text[..a], &text[b + end.len()..])
        }
        _ => format!("{text}\n## {heading}\n\n{section}\n"),
    };
    std::fs::write(&path, new)
}
