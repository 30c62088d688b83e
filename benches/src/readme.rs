//! The figures sections of benches/README.md, each between `<!-- NAME:start -->` and
//! `<!-- NAME:end -->` markers, rewritten by the load generators' `--write-readme`.

use std::path::Path;

use anyhow::bail;

/// Replaces the text between `NAME`'s markers with `body` (which gets a trailing newline).
pub fn replace_section(name: &str, body: &str) -> anyhow::Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = std::fs::read_to_string(&path)?;
    let start = format!("<!-- {name}:start -->\n");
    let end = format!("<!-- {name}:end -->");
    let (Some(a), Some(b)) = (text.find(&start), text.find(&end)) else {
        bail!("benches/README.md has no {name} markers");
    };
    if b < a {
        bail!("benches/README.md has its {name} markers the wrong way round");
    }
    let body = body.trim_end();
    let new = format!("{}{start}{body}\n{}", &text[..a], &text[b..]);
    std::fs::write(&path, new)?;
    Ok(())
}
