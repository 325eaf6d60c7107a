//! Checks of the code's shape, run with the unit tests (docs/architecture.md says why):
//!
//! - `auth/` stays pure: it imports neither the configuration, the HTTP layer, the routes, the
//!   flows, the store, the state nor actix or SeaORM;
//! - the module graph has no cycles. Nodes are the source files; an edge is a path to another
//!   file's items (`crate::…`, `super::…`, `use child::…`). One kind of edge is left out: a
//!   child module using its parent's items (a folder's `mod.rs` declares a type, its children
//!   implement it, as `store/` does), since the parent only declares the child. A re-export
//!   (`pub use child::X`) is an edge like any other. Test modules are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

/// Every `.rs` file under `src/`, by its path relative to `src/`, without its test module and
/// comment lines.
fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&path).unwrap();
                let code = match text.find("#[cfg(test)]\nmod tests") {
                    Some(i) => &text[..i],
                    None => &text,
                };
                let code: Vec<&str> = code
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect();
                out.insert(rel, code.join("\n"));
            }
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out.remove("architecture.rs");
    out
}

/// The module path of a file: `store/users.rs` → `[store, users]`, `http/mod.rs` → `[http]`.
fn module_path(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

struct Graph {
    modules: BTreeMap<Vec<String>, String>,
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    /// The file of the longest module prefix of `path`.
    fn resolve(&self, path: &[String]) -> Option<&String> {
        (0..=path.len())
            .rev()
            .find_map(|k| self.modules.get(&path[..k]))
    }

    fn build(sources: &BTreeMap<String, String>) -> Self {
        let modules: BTreeMap<Vec<String>, String> = sources
            .keys()
            .filter(|r| r.as_str() != "main.rs")
            .map(|r| (module_path(r), r.clone()))
            .collect();
        let mut graph = Graph {
            modules,
            edges: BTreeMap::new(),
        };
        let absolute = Regex::new(r"\b(crate|super)((?:::\w+)*)(?:::\{([^}]*)\})?").unwrap();
        let relative = Regex::new(r"\buse\s+(\w+)((?:::\w+)*)(?:::\{([^}]*)\})?").unwrap();
        for (rel, code) in sources.iter().filter(|(r, _)| r.as_str() != "main.rs") {
            let me = module_path(rel);
            let parent: Vec<String> = me[..me.len().saturating_sub(1)].to_vec();
            let mut targets = BTreeSet::new();
            let mut add = |base: Vec<String>, rest: &str, items: Option<&str>| {
                let mut path = base;
                path.extend(
                    rest.split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
                let names: Vec<Option<String>> = match items {
                    Some(list) => list
                        .split(',')
                        .map(|i| i.trim().split("::").next().unwrap_or("").to_owned())
                        .filter(|i| !i.is_empty())
                        .map(|i| (i != "self").then_some(i))
                        .collect(),
                    None => vec![None],
                };
                for name in names {
                    let mut p = path.clone();
                    p.extend(name);
                    if let Some(target) = graph.resolve(&p) {
                        if target != rel {
                            targets.insert(target.clone());
                        }
                    }
                }
            };
            for c in absolute.captures_iter(code) {
                let base = if &c[1] == "crate" {
                    Vec::new()
                } else {
                    parent.clone()
                };
                add(base, &c[2], c.get(3).map(|m| m.as_str()));
            }
            for c in relative.captures_iter(code) {
                let mut child = me.clone();
                child.push(c[1].to_owned());
                if graph.modules.contains_key(&child) {
                    add(child, &c[2], c.get(3).map(|m| m.as_str()));
                }
            }
            // A child using its parent's items is not an edge (see the module comment).
            let dir = Path::new(rel).parent().map(Path::to_path_buf);
            targets.retain(|t| {
                !(t.ends_with("mod.rs") && Path::new(t).parent().map(Path::to_path_buf) == dir)
            });
            graph.edges.insert(rel.clone(), targets);
        }
        graph
    }

    /// A cycle through `start`, if there is one, as the list of files along it.
    fn cycles(&self) -> Vec<Vec<String>> {
        let mut found = Vec::new();
        for start in self.edges.keys() {
            // Depth-first search for a path back to `start`.
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((node, path)) = stack.pop() {
                for next in self.edges.get(&node).into_iter().flatten() {
                    if next == start {
                        found.push(path.clone());
                    } else if next > start && seen.insert(next.clone()) {
                        let mut p = path.clone();
                        p.push(next.clone());
                        stack.push((next.clone(), p));
                    }
                }
            }
        }
        found
    }
}

#[test]
fn auth_imports_no_configuration_http_storage_or_frameworks() {
    let forbidden = [
        "crate::config",
        "crate::routes",
        "crate::http",
        "crate::flows",
        "crate::store",
        "crate::state",
        "crate::plugin",
        "crate::error",
        "actix",
        "sea_orm",
    ];
    let mut found = Vec::new();
    for (rel, code) in sources().iter().filter(|(r, _)| r.starts_with("auth/")) {
        for word in forbidden {
            if code.contains(word) {
                found.push(format!("{rel} uses {word}"));
            }
        }
    }
    assert!(found.is_empty(), "auth/ must stay pure: {found:#?}");
}

#[test]
fn the_module_graph_has_no_cycles() {
    let graph = Graph::build(&sources());
    let cycles = graph.cycles();
    assert!(cycles.is_empty(), "module cycles: {cycles:#?}");
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    // The check itself must be able to fail: two files that use each other.
    let sources = BTreeMap::from([
        (
            "a.rs".to_owned(),
            "use crate::b::B;\npub struct A;".to_owned(),
        ),
        ("b.rs".to_owned(), "pub struct B(crate::a::A);".to_owned()),
        (
            "c/mod.rs".to_owned(),
            "pub struct C;\npub use d::D;".to_owned(),
        ),
        (
            "c/d.rs".to_owned(),
            "use super::C;\npub struct D;".to_owned(),
        ),
    ]);
    let graph = Graph::build(&sources);
    assert_eq!(
        graph.cycles(),
        vec![vec!["a.rs".to_owned(), "b.rs".to_owned()]]
    );
    assert!(
        graph.edges["c/mod.rs"].contains("c/d.rs"),
        "a re-export is an edge"
    );
    assert!(
        graph.edges["c/d.rs"].is_empty(),
        "a child using its parent is not"
    );
}

#[test]
fn no_route_file_imports_another() {
    let mut found = Vec::new();
    for (rel, code) in sources().iter().filter(|(r, _)| r.starts_with("routes/")) {
        if rel == "routes/mod.rs" {
            continue;
        }
        for (other, _) in sources()
            .iter()
            .filter(|(o, _)| o.starts_with("routes/") && *o != rel && o.as_str() != "routes/mod.rs")
        {
            let name = module_path(other).join("::");
            let sibling = format!("super::{}", module_path(other).last().unwrap());
            if code.contains(&format!("crate::{name}")) || code.contains(&sibling) {
                found.push(format!("{rel} imports {other}"));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}
