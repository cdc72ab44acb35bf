//! The README's excerpts of examples stay excerpts: a fenced block right after
//! `<!-- readme-snippet: PATH -->` may only hold lines of PATH (compared without their
//! indentation), so the README never shows code the test command does not run.

use std::path::Path;

#[test]
fn readme_snippets_are_lines_of_the_examples_they_quote() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let marker = "<!-- readme-snippet: ";
    let mut checked = 0;
    for (at, _) in readme.match_indices(marker) {
        let rest = &readme[at + marker.len()..];
        let (path, rest) = rest.split_once(" -->").expect("a snippet marker ends with ` -->`");
        let body = rest
            .trim_start()
            .strip_prefix("```")
            .and_then(|b| b.split_once('\n'))
            .map(|(_, b)| b)
            .unwrap_or_else(|| panic!("`{path}`: the marker is not followed by a fenced block"));
        let body = &body[..body.find("\n```").expect("the fenced block ends")];
        let source = std::fs::read_to_string(root.join(path))
            .unwrap_or_else(|e| panic!("README quotes `{path}`, which cannot be read: {e}"));
        let lines: Vec<&str> = source.lines().map(str::trim).collect();
        for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
            assert!(
                lines.contains(&line),
                "README.md quotes `{path}` with a line it does not have: `{line}`"
            );
        }
        checked += 1;
    }
    assert!(checked >= 2, "README.md should quote the Python and Node examples ({checked} found)");
}
