//! The library's layering, checked on its source text (see ARCHITECTURE.md): no path in a
//! file under one top-level module names a higher one, internal code names items by their
//! module path rather than through the crate root's re-exports, and sibling submodules do
//! not import each other in a circle.
//!
//! Paths are read from the code with comments and string literals removed: `crate::…`
//! (in `use` or inline, with `{…}` groups), and `super::…` chains resolved against the
//! file's module path and the inline modules around them. A root re-export
//! (`crate::Float`) is resolved through `src/lib.rs`'s `pub use` lines to the module that
//! defines it, so it cannot hide a back-edge. `src/lib.rs` itself assembles the public API
//! (it may name every module) and is not checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules, bottom up: a file under one may name only modules of lower or
/// equal rank. `error` uses nothing; `docs` holds documentation only.
const RANKS: &[&str] = &[
    "error", "num", "tensor", "exact", "kernel", "layer", "transfer", "modes", "model", "docs",
];

/// Files that may use the crate root's re-exports (`crate::Float`): none.
fn root_reexport_exempt(_rel: &str) -> bool {
    false
}

/// Back-edges kept, each `(file, path prefix)`: none.
const BACK_EDGE_EXEMPT: &[(&str, &str)] = &[];

/// Sibling circles kept, as the sorted pair of siblings under their parent: none.
const CIRCLE_EXEMPT: &[(&str, &str, &str)] = &[];

fn rank(m: &str) -> Option<usize> {
    RANKS.iter().position(|r| *r == m)
}

/// `src/` relative to this crate.
fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file with comments, string and character literals blanked out (each
/// replaced by spaces, so nothing joins across them).
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c[i] == 'r' && (next == Some('"') || next == Some('#')) && {
            let prev = if i > 0 { c[i - 1] } else { ' ' };
            !(prev.is_alphanumeric() || prev == '_')
        } {
            // A raw string r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (0..hashes).all(|k| c.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push_str("\"\"");
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c[i] == '\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 2;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c[i]);
                i += 1;
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

#[derive(Debug, PartialEq)]
enum Tok {
    Ident(String),
    Sep,   // ::
    Open,  // {
    Close, // }
    Comma,
    Star,
    Other(char),
}

fn tokens(code: &str) -> Vec<Tok> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_alphabetic() || ch == '_' || ch == '$' {
            let s = i;
            i += 1;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[s..i].iter().collect()));
            continue;
        }
        i += 1;
        match ch {
            ':' if c.get(i) == Some(&':') => {
                i += 1;
                out.push(Tok::Sep);
            }
            '{' => out.push(Tok::Open),
            '}' => out.push(Tok::Close),
            ',' => out.push(Tok::Comma),
            '*' => out.push(Tok::Star),
            c if c.is_whitespace() => {}
            c => out.push(Tok::Other(c)),
        }
    }
    out
}

/// One path as written: its anchor (`crate`, or `super` counted) and the segments after
/// it, with a `{…}` group expanded one item at a time (each item's leading segments).
#[derive(Debug)]
struct Written {
    supers: usize,
    is_crate: bool,
    segs: Vec<String>,
    /// The inline modules around the path, innermost last.
    inline: Vec<String>,
}

/// The segments `a::b::c` starting at `toks[i]` (an identifier), and whether a `{` group
/// follows; returns the index after them.
fn segments(toks: &[Tok], mut i: usize) -> (Vec<String>, usize) {
    let mut segs = Vec::new();
    while let Some(Tok::Ident(s)) = toks.get(i) {
        segs.push(s.clone());
        if toks.get(i + 1) == Some(&Tok::Sep) {
            i += 2;
        } else {
            i += 1;
            break;
        }
    }
    (segs, i)
}

/// Every `crate::…` and `super::…` path of a file's code.
fn paths(code: &str) -> Vec<Written> {
    let toks = tokens(code);
    let mut out = Vec::new();
    // Inline modules: (name, brace depth of their body).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Open => depth += 1,
            Tok::Close => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(k) if k == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Open)) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    inline.push((name.clone(), depth + 1));
                }
            }
            Tok::Ident(k)
                if (k == "crate" || k == "super")
                    && toks.get(i + 1) == Some(&Tok::Sep)
                    && !(i > 0 && toks[i - 1] == Tok::Sep) =>
            {
                let is_crate = k == "crate";
                let mut j = i;
                let mut supers = 0;
                if is_crate {
                    j += 2;
                } else {
                    while toks.get(j) == Some(&Tok::Ident("super".into()))
                        && toks.get(j + 1) == Some(&Tok::Sep)
                    {
                        supers += 1;
                        j += 2;
                    }
                }
                let (head, after) = segments(&toks, j);
                let names: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
                let mut push = |segs: Vec<String>| {
                    out.push(Written {
                        supers,
                        is_crate,
                        segs,
                        inline: names.clone(),
                    })
                };
                let grouped = (head.is_empty() && toks.get(j) == Some(&Tok::Open))
                    || (!head.is_empty()
                        && toks.get(after - 1) == Some(&Tok::Sep)
                        && toks.get(after) == Some(&Tok::Open));
                if grouped {
                    // Expand a `{a::b, c, d::{e, f}}` group one level: the leading
                    // segments of each top-level item.
                    let mut k = if head.is_empty() { j + 1 } else { after + 1 };
                    let mut level = 1;
                    let mut at_item = true;
                    while k < toks.len() && level > 0 {
                        match &toks[k] {
                            Tok::Open => level += 1,
                            Tok::Close => level -= 1,
                            Tok::Comma if level == 1 => at_item = true,
                            Tok::Ident(_) if level == 1 && at_item => {
                                let (item, _) = segments(&toks, k);
                                if item.first().is_some_and(|s| s != "self") {
                                    let mut segs = head.clone();
                                    segs.extend(item);
                                    push(segs);
                                } else {
                                    push(head.clone());
                                }
                                at_item = false;
                            }
                            _ => {}
                        }
                        k += 1;
                    }
                    i = k;
                    continue;
                } else if !head.is_empty() || toks.get(j) == Some(&Tok::Star) {
                    push(head);
                }
                i = after.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// `src/lib.rs`: the top-level modules it declares (`mod x;`, `pub mod x { … }`) and the
/// root re-exports `name → defining path` of its `pub use` lines (outside inline modules).
fn root(lib: &str) -> (BTreeSet<String>, BTreeMap<String, Vec<String>>) {
    let toks = tokens(&code_only(lib));
    let mut mods = BTreeSet::new();
    let mut reexports = BTreeMap::new();
    let mut depth = 0;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Open => depth += 1,
            Tok::Close => depth -= 1,
            Tok::Ident(k) if k == "mod" && depth == 0 => {
                if let Some(Tok::Ident(name)) = toks.get(i + 1) {
                    mods.insert(name.clone());
                }
            }
            Tok::Ident(k) if k == "use" && depth == 0 => {
                let (head, after) = segments(&toks, i + 1);
                if toks.get(after) == Some(&Tok::Open) && toks.get(after - 1) == Some(&Tok::Sep) {
                    let mut k = after + 1;
                    while k < toks.len() && toks[k] != Tok::Close {
                        if let Tok::Ident(n) = &toks[k] {
                            let mut p = head.clone();
                            p.push(n.clone());
                            reexports.insert(n.clone(), p);
                        }
                        k += 1;
                    }
                    i = k + 1;
                } else if let Some(last) = head.last() {
                    reexports.insert(last.clone(), head.clone());
                    i = after;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    (mods, reexports)
}

/// A file's module path from `src/` (`kernel/avx512/mod.rs` → `[kernel, avx512]`).
fn module_path(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    let file = parts.pop().expect("a file name");
    let stem = file.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// What a file's paths resolve to, as absolute module paths (crate-root re-exports
/// resolved to where they are defined), each with a flag: written through a root
/// re-export.
fn resolved(
    rel: &str,
    code: &str,
    mods: &BTreeSet<String>,
    reexports: &BTreeMap<String, Vec<String>>,
) -> Vec<(Vec<String>, bool)> {
    let here = module_path(rel);
    let mut out = Vec::new();
    for w in paths(code) {
        let abs: Vec<String> = if w.is_crate {
            w.segs.clone()
        } else {
            let mut base = here.clone();
            base.extend(w.inline.iter().cloned());
            if w.supers > base.len() {
                continue;
            }
            base.truncate(base.len() - w.supers);
            base.extend(w.segs.iter().cloned());
            base
        };
        let Some(first) = abs.first() else { continue };
        if mods.contains(first) {
            out.push((abs, false));
        } else if let Some(def) = reexports.get(first) {
            let mut p = def.clone();
            p.extend(abs[1..].iter().cloned());
            out.push((p, true));
        }
    }
    out
}

/// All layering violations of the sources `files` (`(path relative to src/, text)`).
fn violations(lib: &str, files: &[(String, String)]) -> Vec<String> {
    violations_except(
        lib,
        files,
        root_reexport_exempt,
        BACK_EDGE_EXEMPT,
        CIRCLE_EXEMPT,
    )
}

/// [`violations`] with the given exemptions.
fn violations_except(
    lib: &str,
    files: &[(String, String)],
    reexport_exempt: fn(&str) -> bool,
    back_edge_exempt: &[(&str, &str)],
    circle_exempt: &[(&str, &str, &str)],
) -> Vec<String> {
    let (mods, reexports) = root(lib);
    let mut bad = Vec::new();
    for m in &mods {
        if rank(m).is_none() {
            bad.push(format!("top-level module `{m}` has no rank in RANKS"));
        }
    }
    // Sibling edges: parent path → (from, to).
    let mut edges: BTreeMap<Vec<String>, BTreeSet<(String, String)>> = BTreeMap::new();
    for (rel, text) in files {
        if rel == "lib.rs" {
            continue;
        }
        let here = module_path(rel);
        let top = &here[0];
        let Some(r_here) = rank(top) else {
            bad.push(format!("{rel}: top-level module `{top}` has no rank"));
            continue;
        };
        let code = code_only(text);
        for (abs, via_root) in resolved(rel, &code, &mods, &reexports) {
            let joined = abs.join("::");
            if via_root && !reexport_exempt(rel) {
                bad.push(format!(
                    "{rel}: uses the crate root's re-export for `crate::{joined}`; \
                     name it by its module path"
                ));
            }
            let target = &abs[0];
            if let Some(r) = rank(target) {
                let exempt = back_edge_exempt
                    .iter()
                    .any(|(f, p)| f == rel && joined.starts_with(p));
                if r > r_here && !exempt {
                    bad.push(format!(
                        "{rel}: `{top}` names `crate::{joined}` of the higher layer `{target}`"
                    ));
                }
            }
            // The first segment where the two paths part: an edge between siblings.
            let k = here.iter().zip(&abs).take_while(|(a, b)| a == b).count();
            if k > 0 && k < here.len() && k < abs.len() {
                edges
                    .entry(here[..k].to_vec())
                    .or_default()
                    .insert((here[k].clone(), abs[k].clone()));
            }
        }
    }
    for (parent, e) in &edges {
        for (a, b) in e {
            if a < b && e.contains(&(b.clone(), a.clone())) {
                let p = parent.join("::");
                if !circle_exempt.contains(&(p.as_str(), a.as_str(), b.as_str())) {
                    bad.push(format!("`{p}::{a}` and `{p}::{b}` import each other"));
                }
            }
        }
        // Longer circles: a depth-first search over the rest.
        let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (a, b) in e {
            let p = parent.join("::");
            let pair = if a < b { (a, b) } else { (b, a) };
            if !circle_exempt.contains(&(p.as_str(), pair.0.as_str(), pair.1.as_str())) {
                graph.entry(a).or_default().push(b);
            }
        }
        if let Some(cycle) = find_cycle(&graph) {
            if cycle.len() > 3 {
                bad.push(format!(
                    "a circle among `{}`'s submodules: {}",
                    parent.join("::"),
                    cycle.join(" → ")
                ));
            }
        }
    }
    bad
}

/// A cycle of `graph` as its nodes (first repeated last), if there is one.
fn find_cycle<'a>(graph: &BTreeMap<&'a str, Vec<&'a str>>) -> Option<Vec<&'a str>> {
    fn visit<'a>(
        n: &'a str,
        graph: &BTreeMap<&'a str, Vec<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        state.insert(n, 1);
        stack.push(n);
        for &m in graph.get(n).into_iter().flatten() {
            match state.get(m) {
                Some(1) => {
                    let from = stack.iter().position(|&x| x == m).expect("on the stack");
                    let mut c = stack[from..].to_vec();
                    c.push(m);
                    return Some(c);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n, 2);
        None
    }
    let mut state = BTreeMap::new();
    for &n in graph.keys() {
        if !state.contains_key(n) {
            if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn sources() -> (String, Vec<(String, String)>) {
    let src = src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let read = |p: &Path| std::fs::read_to_string(p).expect("readable source");
    let lib = read(&src.join("lib.rs"));
    let files = files
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).expect("under src/");
            let rel = rel.to_string_lossy().replace('\\', "/");
            (rel, read(p))
        })
        .collect();
    (lib, files)
}

#[test]
fn no_back_edges_root_reexports_or_sibling_circles() {
    let (lib, files) = sources();
    assert!(files.len() > 40, "read the sources ({} files)", files.len());
    let bad = violations(&lib, &files);
    assert!(bad.is_empty(), "layering violations:\n{}", bad.join("\n"));
}

#[test]
fn exemptions_are_still_needed() {
    // An exemption that no longer matches anything is stale: remove it.
    let (lib, files) = sources();
    let bad = violations_except(&lib, &files, |_| false, &[], &[]);
    for (f, p) in BACK_EDGE_EXEMPT {
        let found = |b: &&String| b.starts_with(&format!("{f}: ")) && b.contains(p);
        assert!(
            bad.iter().any(|b| found(&b)),
            "{f} no longer names {p}: {bad:?}"
        );
    }
    for (parent, a, b) in CIRCLE_EXEMPT {
        let pair = format!("`{parent}::{a}` and `{parent}::{b}` import each other");
        assert!(bad.contains(&pair), "no longer a circle: {pair}");
    }
}

/// The check has teeth: each kind of violation, added to a copy of the real sources, is
/// reported.
#[test]
fn each_kind_of_violation_is_caught() {
    let (lib, files) = sources();
    let with = |rel: &str, extra: &str| {
        let mut f = files.clone();
        let e = f.iter_mut().find(|(r, _)| r == rel).expect("file");
        e.1.push_str(extra);
        violations(&lib, &f)
    };
    // (a) a back-edge, in a `use`, inline, through a group and through `super`.
    for (rel, extra) in [
        ("exact/sum.rs", "use crate::layer::params::BatchNorm;\n"),
        (
            "num/interval.rs",
            "fn f() { let _ = crate::modes::check::Source::Real; }\n",
        ),
        (
            "kernel/lanes.rs",
            "use crate::{num::float::Float, transfer::fold};\n",
        ),
        (
            "kernel/avx512/mod.rs",
            "use super::super::layer::channel::image;\n",
        ),
    ] {
        let bad = with(rel, extra);
        assert!(
            bad.iter().any(|b| b.contains("of the higher layer")),
            "{rel}: {extra} not caught: {bad:?}"
        );
    }
    // An unknown root name is not a path.
    let bad = with(
        "modes/deployed/any.rs",
        "fn g(_: crate::ModelLoaderThatDoesNotExist) {}\n",
    );
    assert!(
        bad.is_empty(),
        "an unknown root name is not a path: {bad:?}"
    );
    let bad = with("tensor.rs", "use crate::Checker;\n");
    assert!(
        bad.iter().any(|b| b.contains("of the higher layer")),
        "{bad:?}"
    );
    // (b) a root re-export outside the exempt files; none in a comment or a string.
    for rel in ["transfer/ibp.rs", "modes/check.rs"] {
        let bad = with(rel, "fn h(_: crate::Float) {}\n");
        assert!(
            bad.iter().any(|b| b.contains("re-export")),
            "{rel}: {bad:?}"
        );
    }
    let bad = with(
        "transfer/ibp.rs",
        "// crate::Float crate::modes\nconst S: &str = \"crate::modes::x\";\n",
    );
    assert!(bad.is_empty(), "{bad:?}");
    // (c) a circle between siblings: `exact::sum` ↔ `exact::dyadic`.
    let bad = with("exact/dyadic.rs", "use super::sum::BiasSum;\n");
    assert!(
        bad.iter().any(|b| b.contains("import each other")),
        "{bad:?}"
    );
    let bad = with("exact/dyadic.rs", "use crate::exact::decimal::Format;\n");
    assert!(bad.is_empty(), "no circle: {bad:?}");
}

/// Every `unsafe` of the crate is in `src/kernel/`, apart from the floating-point
/// environment's guard (`num/round/env.rs`, which every layer opens); the root denies
/// `unsafe_code` and only these modules allow it.
#[test]
fn unsafe_lives_in_the_kernel_folder() {
    let (lib, files) = sources();
    assert!(code_only(&lib).contains("#![deny(unsafe_code)]"));
    for (rel, text) in &files {
        let allowed = rel.starts_with("kernel/") || rel == "num/round/env.rs";
        let uses = tokens(&code_only(text)).contains(&Tok::Ident("unsafe".into()));
        assert!(allowed || !uses, "{rel}: `unsafe` outside src/kernel/");
    }
}
