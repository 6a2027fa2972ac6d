//! The table of machine-checked proofs in `src/docs/soundness.md` against the
//! code and the proofs: every Rust function it names exists where it says (so a rename
//! breaks CI, not silently the proof's meaning), every theorem it names is a `Theorem` of
//! the `.v` file it names and has its assumptions printed there (CI checks that output), or
//! is the name of a Gappa script `proofs/gappa/NAME.g` the row names, and every `.v` file in
//! `proofs/` and every `.g` script in `proofs/gappa/` is listed. The proofs themselves are
//! compiled, and the Gappa certificates generated and compiled, by `proofs/check` in
//! `.ci/run`.

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let p = root().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The text between backticks in `cell`.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && s.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// `text` contains `word` followed by one of `after` (or the end of a line).
fn has_followed(text: &str, word: &str, after: &[char]) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let rest = &text[i + word.len()..];
        rest.is_empty() || rest.starts_with(after)
    })
}

/// `name` is passed to a function-defining macro of the same file (`lane_steps!(lane_below,
/// lane_above, …)` defines `fn lane_below`): an invocation `m!(…)` at the start of a line,
/// with `name` among its comma-separated arguments, where `macro_rules! m` defines a `fn $`.
fn defined_by_macro(src: &str, name: &str) -> bool {
    src.lines().any(|line| {
        let Some((mac, args)) = line.split_once("!(") else {
            return false;
        };
        is_ident(mac)
            && src.contains(&format!("macro_rules! {mac}"))
            && src.contains("fn $")
            && args
                .trim_end_matches(");")
                .split(',')
                .any(|a| a.trim() == name)
    })
}

/// The rows (cells of the five columns) of the table under "## Machine-checked proofs".
fn rows() -> Vec<[String; 5]> {
    let doc = read("src/docs/soundness.md");
    let start = doc
        .find("\n## Machine-checked proofs")
        .expect("soundness.md has a \"## Machine-checked proofs\" section");
    let section = &doc[start + 1..];
    let section = &section[..section[3..].find("\n#").map_or(section.len(), |i| i + 3)];
    let mut out = Vec::new();
    for line in section.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(
            cells.len(),
            7,
            "a row of the proofs table has five columns: {line}"
        );
        if cells[1] == "theorem" || cells[1].starts_with("---") {
            continue;
        }
        out.push([1, 2, 3, 4, 5].map(|k| cells[k].to_string()));
    }
    out
}

#[test]
fn proofs_table_matches_code_and_proofs() {
    let rows = rows();
    assert!(
        rows.len() >= 8,
        "the proofs table lost rows ({} left)",
        rows.len()
    );
    let mut listed = BTreeSet::new();
    for [theorems, statement, file, functions, assumptions] in &rows {
        assert!(!statement.is_empty(), "a row states no theorem: {theorems}");
        let files = code_spans(file);
        let names = code_spans(theorems);
        for name in &names {
            assert!(
                is_ident(name),
                "the theorem column holds only names: {theorems}"
            );
        }
        assert!(!names.is_empty(), "a row names no theorem: {theorems}");
        if files.iter().all(|f| f.ends_with(".g")) && !files.is_empty() {
            // A row of Gappa scripts (proofs/gappa/NAME.g, one goal each, whose Coq
            // certificates proofs/check compiles): the theorems are the scripts' names.
            for f in &files {
                assert!(f.starts_with("proofs/gappa/"), "{f}");
                let script = read(f);
                assert!(script.contains("->"), "{f} states no goal");
                listed.insert(f.to_string());
            }
            for name in &names {
                let f = format!("proofs/gappa/{name}.g");
                assert!(
                    files.contains(&f.as_str()),
                    "the Gappa theorem {name} is the script {f}, which the row does not name"
                );
            }
        } else {
            assert_eq!(files.len(), 1, "one .v file per row: {file}");
            let file = files[0];
            assert!(
                file.starts_with("proofs/") && file.ends_with(".v"),
                "{file}"
            );
            let proof = read(file);
            listed.insert(file.to_string());
            for name in &names {
                assert!(
                    has_followed(&proof, &format!("Theorem {name}"), &[' ', '\n', ':']),
                    "{file} has no `Theorem {name}`"
                );
                assert!(
                    proof.contains(&format!("Print Assumptions {name}.")),
                    "{file} does not print the assumptions of {name}"
                );
            }
        }

        let fns = code_spans(functions);
        assert!(!fns.is_empty(), "a row names no Rust function: {functions}");
        for f in fns {
            let (path, name) = f
                .split_once("::")
                .unwrap_or_else(|| panic!("write Rust functions as `src/…/file.rs::name`: {f}"));
            assert!(path.ends_with(".rs") && is_ident(name), "{f}");
            let src = read(path);
            assert!(
                has_followed(&src, &format!("fn {name}"), &['<', '('])
                    || defined_by_macro(&src, name),
                "{path} has no `fn {name}` (renamed? update the table in src/docs/soundness.md \
                 and the proof's comments)"
            );
        }
        assert!(!assumptions.is_empty(), "a row states no assumptions");
    }

    let mut on_disk = BTreeSet::new();
    for (dir, ext) in [("proofs", ".v"), ("proofs/gappa", ".g")] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(ext) {
                on_disk.insert(format!("{dir}/{name}"));
            }
        }
    }
    let unlisted: Vec<_> = on_disk.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "proofs not in the table of soundness.md: {unlisted:?}"
    );
}
