//! Architecture checks for personabot's `src/`, run as ordinary tests.
//!
//! Why: the layering we want (pure `domain`/`prompts`, adapters keeping their external crates
//! to themselves, no import cycles between modules, small files) erodes one `use` at a time
//! and is hard to see in review. `tests/architecture.rs` states the rules; this std-only
//! library reads the sources for them: a lexer that blanks comments and literals, a scanner
//! for `use` trees and inline `crate::`/`super::`/`self::` paths, and Tarjan's SCC.
//! It approximates, it does not parse Rust: macro bodies and `#[path]` are not followed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

pub mod tables;

/// The library crate's name, as `src/main.rs` spells paths into it.
const LIB_CRATE: &str = "personabot";
/// Elementary cycles listed per strongly connected component, at most.
const MAX_CYCLES: usize = 100;

/// The `.rs` files of one `src/` tree. Modules are named `crate`, `crate::actors::store`, …
/// (and `main` for the binary's root).
pub struct Tree {
    /// (path such as `src/store/mod.rs`, code with comments and literals blanked), by path.
    files: Vec<(String, String)>,
    modules: BTreeSet<String>,
}

/// A layering rule: files whose module `applies` must not name anything in `forbidden`,
/// test code included. `forbidden` is space-separated: `tokio` is an external crate starting a
/// path, `entity::` one that must be followed by `::`, `crate::store` any path into that
/// module or below it (however spelled: grouped `use`, `super::super::store`, …).
pub struct Rule {
    pub name: &'static str,
    pub applies: fn(&str) -> bool,
    pub forbidden: &'static str,
}

/// `module` is `root` or inside it.
pub fn within(module: &str, root: &str) -> bool {
    module == root
        || module
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with("::"))
}

impl Tree {
    /// Reads every `.rs` file under `root/src`.
    pub fn load(root: &Path) -> Tree {
        fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, String)>) {
            for entry in std::fs::read_dir(dir)
                .expect("readable directory")
                .flatten()
            {
                let name = format!("{rel}/{}", entry.file_name().to_string_lossy());
                if entry.path().is_dir() {
                    walk(&entry.path(), &name, out);
                } else if name.ends_with(".rs") {
                    out.push((name, std::fs::read_to_string(entry.path()).expect("source")));
                }
            }
        }
        let mut files = Vec::new();
        walk(&root.join("src"), "src", &mut files);
        Tree::from_files(files)
    }

    /// Builds a tree from in-memory `(path, text)` pairs.
    pub fn from_files(files: Vec<(String, String)>) -> Tree {
        let mut files: Vec<_> = files.into_iter().map(|(p, t)| (p, strip(&t))).collect();
        files.sort();
        let modules = files
            .iter()
            .map(|(p, _)| module_of(p))
            .chain(["crate".into()]);
        Tree {
            modules: modules.collect(),
            files,
        }
    }

    /// The module graph of non-test code: (from, to) -> the `file:line`s creating that edge.
    /// A parent naming a child it declares with `mod` is not an edge; a child naming its parent is.
    pub fn edges(&self) -> BTreeMap<(String, String), Vec<String>> {
        let mut edges: BTreeMap<_, Vec<String>> = BTreeMap::new();
        for (path, code) in &self.files {
            let from = module_of(path);
            let scan = self.scan(path, &blank_test_items(code));
            for (abs, line) in scan.refs {
                let Some(to) = self.owner(&abs) else { continue };
                let own_child = scan.children.iter().any(|c| format!("{from}::{c}") == to);
                if to != from && !own_child {
                    let (sites, site) = (
                        edges.entry((from.clone(), to)).or_default(),
                        format!("{path}:{line}"),
                    );
                    if !sites.contains(&site) {
                        sites.push(site);
                    }
                }
            }
        }
        edges
    }

    /// Every elementary import cycle as `a -> b -> a`, then one line per edge with its sites.
    pub fn cycles(&self) -> Vec<String> {
        let edges = self.edges();
        let names: Vec<&String> = self.modules.iter().collect();
        let id = |m: &String| names.binary_search(&m).expect("edges end in modules");
        let short = |v: usize| names[v].strip_prefix("crate::").unwrap_or(names[v]);
        let mut adj = vec![Vec::new(); names.len()];
        edges.keys().for_each(|(a, b)| adj[id(a)].push(id(b)));
        let mut out = Vec::new();
        for scc in strongly_connected(&adj).into_iter().filter(|c| c.len() > 1) {
            let cycles = elementary_cycles(&scc.into_iter().collect(), &adj);
            if cycles.len() == MAX_CYCLES {
                out.push(format!(
                    "(only the first {MAX_CYCLES} cycles of the next component)"
                ));
            }
            for mut cycle in cycles {
                cycle.push(cycle[0]);
                let mut entry = cycle
                    .iter()
                    .map(|&v| short(v))
                    .collect::<Vec<_>>()
                    .join(" -> ");
                for w in cycle.windows(2) {
                    let sites = &edges[&(names[w[0]].clone(), names[w[1]].clone())];
                    entry += &format!(
                        "\n    {} -> {}: {}",
                        short(w[0]),
                        short(w[1]),
                        sites.join(", ")
                    );
                }
                out.push(entry);
            }
        }
        out
    }

    /// `file:line: rule (names `x`)` for every line breaking one of `rules`.
    pub fn violations(&self, rules: &[Rule]) -> Vec<String> {
        let mut out = BTreeSet::new();
        for (path, code) in &self.files {
            let (module, scan) = (module_of(path), self.scan(path, code));
            for rule in rules.iter().filter(|r| (r.applies)(&module)) {
                for name in rule.forbidden.split_whitespace() {
                    let lines: Vec<usize> = if name.starts_with("crate::") {
                        let into = |(abs, _): &&(Vec<String>, usize)| within(&abs.join("::"), name);
                        let own = within(&module, name); // a module may name its own insides
                        scan.refs
                            .iter()
                            .filter(into)
                            .filter(|_| !own)
                            .map(|r| r.1)
                            .collect()
                    } else {
                        let (krate, needs_colons) =
                            (name.trim_end_matches("::"), name.ends_with("::"));
                        // A name a `use` bound to a module of ours is not the crate
                        // (`use crate::telemetry::metrics;` then `metrics::x()`).
                        let hit = |(n, _, colons): &&(String, usize, bool)| {
                            n == krate && (*colons || !needs_colons) && !scan.bound.contains(n)
                        };
                        scan.names.iter().filter(hit).map(|n| n.1).collect()
                    };
                    for line in lines {
                        out.insert((
                            path.clone(),
                            line,
                            format!("{} (names `{name}`)", rule.name),
                        ));
                    }
                }
            }
        }
        out.into_iter()
            .map(|(p, l, what)| format!("{p}:{l}: {what}"))
            .collect()
    }

    /// Files with more than `limit` code lines (not blank, not only comment), test items
    /// (`#[cfg(test)]` modules, functions...) left out wherever they are in the file.
    pub fn oversized(&self, limit: usize) -> Vec<String> {
        let count = |code: &str| {
            let code = blank_test_items(code);
            code.lines().filter(|l| !l.trim().is_empty()).count()
        };
        let sizes = self.files.iter().map(|(path, code)| (path, count(code)));
        let big = sizes.filter(|&(_, n)| n > limit);
        big.map(|(path, n)| format!("{path}: {n} lines of non-test code (limit {limit})"))
            .collect()
    }

    /// The longest prefix of `abs` that is a module.
    fn owner(&self, abs: &[String]) -> Option<String> {
        (1..=abs.len())
            .rev()
            .map(|k| abs[..k].join("::"))
            .find(|m| self.modules.contains(m))
    }

    fn scan(&self, path: &str, code: &str) -> Scan {
        let here: Vec<String> = module_of(path).split("::").map(String::from).collect();
        scan(code, &here, &self.modules)
    }
}

/// `src/actors/store.rs` -> `crate::actors::store`, `src/store/mod.rs` -> `crate::store`,
/// `src/lib.rs` -> `crate`, `src/main.rs` -> `main`.
pub fn module_of(path: &str) -> String {
    let p = path
        .strip_prefix("src/")
        .unwrap_or(path)
        .trim_end_matches(".rs");
    match p.strip_suffix("/mod").unwrap_or(p) {
        "lib" => "crate".into(),
        "main" => "main".into(),
        p => format!("crate::{}", p.replace('/', "::")),
    }
}

/// Blanks comments (to spaces) and string/char literals (to `~`), keeping all whitespace so
/// line numbers survive and blank or comment-only lines stay blank.
pub fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    let past = |from: usize, pat: &str| {
        let pat: Vec<char> = pat.chars().collect();
        (from..c.len())
            .find(|&k| c[k..].starts_with(&pat))
            .map_or(c.len(), |k| k + pat.len())
    };
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < c.len() {
        // A raw string: `r"…"`, `r#"…"#`, `br"…"`, `cr"…"`, not inside an identifier.
        let r = if at(i) == 'r' { i } else { i + 1 };
        let hashes = (r + 1..c.len()).take_while(|&k| c[k] == '#').count();
        let word_before = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
        let raw = !word_before
            && at(r) == 'r'
            && (r == i || "bc".contains(at(i)))
            && at(r + 1 + hashes) == '"';
        let (end, fill) = match (at(i), at(i + 1), at(i + 2)) {
            ('/', '/', _) => (past(i, "\n"), ' '),
            ('/', '*', _) => {
                let (mut k, mut depth) = (i + 2, 1);
                while depth > 0 && k < c.len() {
                    let (open, close) = (
                        (c[k], at(k + 1)) == ('/', '*'),
                        (c[k], at(k + 1)) == ('*', '/'),
                    );
                    depth += open as i32 - close as i32;
                    k += if open || close { 2 } else { 1 };
                }
                (k, ' ')
            }
            _ if raw => (
                past(r + 2 + hashes, &format!("\"{}", "#".repeat(hashes))),
                '~',
            ),
            ('"', _, _) => {
                let mut k = i + 1;
                while k < c.len() && c[k] != '"' {
                    k += if c[k] == '\\' { 2 } else { 1 };
                }
                (k + 1, '~')
            }
            ('\'', '\\', _) => (past(i + 3, "'"), '~'), // '\n', '\'', '\u{..}'
            ('\'', _, '\'') => (i + 3, '~'),            // 'x'; otherwise a lifetime
            _ => (i + 1, '\0'),
        };
        let keep = |ch: char| fill == '\0' || ch.is_whitespace();
        out.extend(
            c[i..end.min(c.len())]
                .iter()
                .map(|&ch| if keep(ch) { ch } else { fill }),
        );
        i = end;
    }
    out
}

/// Blanks every item marked `#[cfg(test)]`, up to its `;` or its matching `}`.
pub fn blank_test_items(code: &str) -> String {
    let mut c: Vec<char> = code.chars().collect();
    let pat: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i < c.len() {
        if !c[i..].starts_with(&pat) {
            i += 1;
            continue;
        }
        // A field, variant or arm ends at `,` or at the `}` around it.
        let (mut k, mut nest, mut braces) = (i + pat.len(), 0, 0);
        let end = loop {
            match c.get(k) {
                None => break c.len(),
                Some('(' | '[') => nest += 1,
                Some(')' | ']') => nest -= 1,
                Some('{') => braces += 1,
                Some('}') if braces == 0 => break k,
                Some('}') if braces == 1 => break k + 1,
                Some('}') => braces -= 1,
                Some(';') if nest == 0 && braces == 0 => break k + 1,
                Some(',') if nest == 0 && braces == 0 => break k,
                _ => {}
            }
            k += 1;
        };
        c[i..end]
            .iter_mut()
            .filter(|ch| **ch != '\n')
            .for_each(|ch| *ch = ' ');
        i = end;
    }
    c.into_iter().collect()
}

/// What one file names.
pub struct Scan {
    /// Paths into the crate made absolute (`crate::store::Store`), with their line.
    pub refs: Vec<(Vec<String>, usize)>,
    /// Identifiers starting a path (external crates among them): name, line, followed by `::`.
    pub names: Vec<(String, usize, bool)>,
    /// Child modules declared with `mod x;`.
    pub children: Vec<String>,
    /// Names a `use` binds to one of the crate's own modules.
    pub bound: BTreeSet<String>,
}

/// Identifiers, `::` and single punctuation characters, each with its line.
fn tokens(code: &str) -> Vec<(&str, usize)> {
    let (b, mut out, mut line, mut i) = (code.as_bytes(), Vec::new(), 1, 0);
    let word = |ch: u8| ch.is_ascii_alphanumeric() || ch == b'_' || ch >= 0x80;
    while i < b.len() {
        let start = i;
        if word(b[i]) {
            i += b[i..].iter().take_while(|&&ch| word(ch)).count();
        } else {
            i += if b[i..].starts_with(b"::") { 2 } else { 1 };
        }
        match b[start] {
            b'\n' => line += 1,
            b'~' => {}
            ch if ch.is_ascii_whitespace() => {}
            _ => out.push((&code[start..i], line)),
        }
    }
    out
}

fn is_ident(s: &str) -> bool {
    s.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// Scans stripped `code` of the module `file_module` for `use` trees and inline paths.
pub fn scan(code: &str, file_module: &[String], modules: &BTreeSet<String>) -> Scan {
    let t = tokens(code);
    let text = |k: usize| t.get(k).map_or("", |t| t.0);
    let (mut paths, mut leaves, mut names, mut children) = (vec![], vec![], vec![], vec![]);
    let (mut inline, mut depth, mut i) = (Vec::<(String, i32)>::new(), 0, 0); // inline `mod x {`
    while i < t.len() {
        let mut here = file_module.to_vec();
        here.extend(inline.iter().map(|m| m.0.clone()));
        let prev = if i > 0 { text(i - 1) } else { "" };
        match t[i].0 {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if inline.last().is_some_and(|m| m.1 == depth) {
                    inline.pop();
                }
            }
            "mod" if text(i + 2) == "{" => inline.push((text(i + 1).into(), depth)),
            "mod" if text(i + 2) == ";" && inline.is_empty() => children.push(text(i + 1).into()),
            "use" if prev != "::" => {
                i += 1;
                let mut found = Vec::new();
                use_tree(&t, &mut i, &[], &mut found);
                for (segs, bind, line) in found {
                    names.push((segs[0].clone(), line, segs.len() > 1));
                    leaves.push((segs, here.clone(), line, bind));
                }
                continue;
            }
            s if is_ident(s) && prev != "::" && prev != "." => {
                names.push((s.to_string(), t[i].1, text(i + 1) == "::"));
                let (mut segs, line) = (vec![s.to_string()], t[i].1);
                while text(i + 1) == "::" && is_ident(text(i + 2)) {
                    segs.push(text(i + 2).into());
                    i += 2;
                }
                if segs.len() > 1 {
                    paths.push((segs, here, line));
                }
            }
            _ => {}
        }
        i += 1;
    }
    // A `use` importing a module binds a name later paths start from (`use crate::prompts;`).
    let mut binds = HashMap::new();
    for (segs, here, _, bind) in &leaves {
        let abs = resolve(segs, here, &HashMap::new(), modules);
        if let Some(abs) = abs.filter(|abs| modules.contains(&abs.join("::"))) {
            binds.insert(bind.clone(), abs);
        }
    }
    let all = leaves
        .into_iter()
        .map(|(s, h, l, _)| (s, h, l))
        .chain(paths);
    let refs = all.filter_map(|(s, h, line)| Some((resolve(&s, &h, &binds, modules)?, line)));
    Scan {
        refs: refs.collect(),
        names,
        children,
        bound: binds.keys().cloned().collect(),
    }
}

/// Parses one use tree from `t[*i]`, pushing (path, name it binds, line) for every leaf.
fn use_tree(
    t: &[(&str, usize)],
    i: &mut usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, String, usize)>,
) {
    let text = |k: usize| t.get(k).map_or("", |t| t.0);
    let mut path = prefix.to_vec();
    loop {
        let (s, line) = t.get(*i).copied().unwrap_or(("", 0));
        *i += 1;
        match s {
            "::" => {}
            "{" => {
                while !matches!(text(*i), "}" | "") {
                    let before = *i;
                    use_tree(t, i, &path, out);
                    if text(*i) == "," || *i == before {
                        *i += 1;
                    }
                }
                *i += 1;
                return;
            }
            "*" if !path.is_empty() => return out.push((path, "*".into(), line)),
            s if is_ident(s) => {
                if s != "self" || path.is_empty() {
                    path.push(s.into()); // `a::{self, …}` binds `a` itself
                }
                if text(*i) != "::" {
                    let mut bind = path.last().cloned().unwrap_or_default();
                    if text(*i) == "as" {
                        bind = text(*i + 1).into();
                        *i += 2;
                    }
                    return out.push((path, bind, line));
                }
            }
            _ => {
                *i -= 1;
                return;
            }
        }
    }
}

/// Makes a path absolute: `crate::`/`personabot::`, `self::`, `super::`…, a name bound by a
/// `use`, or a child module. `None` for anything else (external crates, local items).
fn resolve(
    segs: &[String],
    here: &[String],
    binds: &HashMap<String, Vec<String>>,
    modules: &BTreeSet<String>,
) -> Option<Vec<String>> {
    let supers = segs.iter().take_while(|s| *s == "super").count();
    let child = |first: &str| modules.contains(&format!("{}::{first}", here.join("::")));
    let (mut abs, rest) = match segs.first()?.as_str() {
        "crate" | LIB_CRATE => (vec!["crate".to_string()], 1),
        "self" => (here.to_vec(), 1),
        "super" => (
            here[..here.len().saturating_sub(supers).max(1)].to_vec(),
            supers,
        ),
        first if binds.contains_key(first) => (binds[first].clone(), 1),
        first if child(first) => (here.to_vec(), 0),
        _ => return None,
    };
    abs.extend_from_slice(&segs[rest..]);
    Some(abs)
}

/// Tarjan's strongly connected components of a graph given as adjacency lists.
pub fn strongly_connected(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        adj: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        stack: Vec<usize>,
        on_stack: Vec<bool>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State, v: usize) {
        (s.index[v], s.low[v], s.on_stack[v]) = (Some(s.next), s.next, true);
        s.next += 1;
        s.stack.push(v);
        for &w in &s.adj[v] {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if s.index[v] == Some(s.low[v]) {
            let at = s
                .stack
                .iter()
                .rposition(|&w| w == v)
                .expect("v is on the stack");
            let scc = s.stack.split_off(at);
            scc.iter().for_each(|&w| s.on_stack[w] = false);
            s.out.push(scc);
        }
    }
    let n = adj.len();
    let (index, low, on_stack) = (vec![None; n], vec![0; n], vec![false; n]);
    let mut s = State {
        adj,
        index,
        low,
        stack: vec![],
        on_stack,
        next: 0,
        out: vec![],
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

/// The elementary cycles inside one component, each once (from its smallest node).
fn elementary_cycles(scc: &BTreeSet<usize>, adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    fn walk(
        adj: &[Vec<usize>],
        scc: &BTreeSet<usize>,
        path: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
    ) {
        for &w in &adj[*path.last().expect("a start")] {
            if out.len() == MAX_CYCLES || !scc.contains(&w) || w < path[0] {
                continue;
            } else if w == path[0] {
                out.push(path.clone());
            } else if !path.contains(&w) {
                path.push(w);
                walk(adj, scc, path, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    scc.iter()
        .for_each(|&start| walk(adj, scc, &mut vec![start], &mut out));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree of the given `(path, text)` files (also the other test modules' fixture).
    pub(crate) fn tree(files: &[(&str, &str)]) -> Tree {
        Tree::from_files(
            files
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
        )
    }

    /// The absolute paths `code` names, as module `here` among `modules`.
    fn refs(code: &str, here: &str, modules: &[&str]) -> Vec<(String, usize)> {
        let modules = modules.iter().map(|m| format!("crate::{m}")).collect();
        let here: Vec<String> = format!("crate::{here}")
            .split("::")
            .map(String::from)
            .collect();
        let scan = scan(&blank_test_items(&strip(code)), &here, &modules);
        scan.refs
            .into_iter()
            .map(|(abs, line)| (abs[1..].join("::"), line))
            .collect()
    }

    fn owned(want: &[(&str, usize)]) -> Vec<(String, usize)> {
        want.iter().map(|&(p, l)| (p.to_string(), l)).collect()
    }

    #[test]
    fn grouped_multi_line_use_expands_to_every_leaf() {
        let code = "pub use crate::{\n    a::X,\n    b::{c::Y, self as bee},\n};\nuse super::super::d::*;\n";
        let got = refs(code, "p::q::r", &["a", "b", "b::c"]);
        assert_eq!(
            got,
            owned(&[("a::X", 2), ("b::c::Y", 3), ("b", 3), ("p::d", 5)])
        );
    }

    #[test]
    fn inline_paths_resolve_through_imported_modules() {
        let code = "use crate::store;\nfn f() {\n    store::facts::add();\n    crate::x::y(self::z::W);\n}\n";
        let got = refs(code, "m", &["store", "store::facts", "x", "m::z"]);
        let want = [
            ("store", 1),
            ("store::facts::add", 3),
            ("x::y", 4),
            ("m::z::W", 4),
        ];
        assert_eq!(got, owned(&want));
    }

    #[test]
    fn comments_strings_and_test_modules_name_nothing() {
        let code = r####"// use crate::a;
/// crate::b::f()
/* crate::c /* nested */ crate::d */
const S: &str = "crate::e::f() \" crate::g";
const R: &str = r#"crate::h "quoted" crate::i"#;
const Q: char = '"'; fn l<'a>(x: &'a str) -> &'a str { x }
#[cfg(test)]
mod tests { use crate::j; fn t() { crate::k::f() } }
use crate::real::R;
"####;
        assert_eq!(refs(code, "m", &["real"]), owned(&[("real::R", 9)]));
        assert!(!strip(code).contains("crate::b") && strip(code).contains("&'a str"));
    }

    #[test]
    fn finds_a_three_module_cycle_with_its_sites() {
        let t = tree(&[
            (
                "src/lib.rs",
                "pub mod a;\npub mod b;\npub mod c;\npub mod p;\n",
            ),
            ("src/a.rs", "use crate::b::X;\n"),
            ("src/b.rs", "fn f() {\n    crate::c::g()\n}\n"),
            ("src/c.rs", "use super::a;\n"),
            // A parent naming the child it declares is no edge, so no cycle here.
            ("src/p/mod.rs", "mod q;\npub use q::Z;\n"),
            ("src/p/q.rs", "use super::W;\nuse crate::a::Y;\n"),
        ]);
        let want = "a -> b -> c -> a\n    a -> b: src/a.rs:1\n    b -> c: src/b.rs:2\n    c -> a: src/c.rs:1";
        assert_eq!(t.cycles(), [want]);
    }

    #[test]
    fn layering_rules_report_file_and_line() {
        let t = tree(&[
            (
                "src/domain/x.rs",
                "// tokio::spawn\nuse tokio::sync;\nfn f() { super::super::store::g(); }\n",
            ),
            (
                "src/domain/y.rs",
                "fn entity() {}\nconst T: &str = \"serenity\";\n",
            ),
            ("src/store/mod.rs", "use sea_orm::Db;\n"),
        ]);
        let applies = |m: &str| within(m, "crate::domain");
        let rule = Rule {
            name: "pure",
            applies,
            forbidden: "tokio crate::store entity:: serenity",
        };
        let want = [
            "src/domain/x.rs:2: pure (names `tokio`)",
            "src/domain/x.rs:3: pure (names `crate::store`)",
        ];
        assert_eq!(t.violations(&[rule]), want);
    }

    #[test]
    fn a_module_of_ours_named_like_a_crate_is_not_that_crate() {
        let t = tree(&[
            ("src/telemetry/metrics.rs", "use metrics::counter;\n"),
            (
                "src/actors/x.rs",
                "use crate::telemetry::metrics;\nfn f() { metrics::reply_sent(); }\n",
            ),
            ("src/actors/y.rs", "fn f() { metrics::counter!(\"x\"); }\n"),
        ]);
        let rule = Rule {
            name: "facade",
            applies: |m| !within(m, "crate::telemetry"),
            forbidden: "metrics",
        };
        assert_eq!(
            t.violations(&[rule]),
            ["src/actors/y.rs:1: facade (names `metrics`)"]
        );
    }

    #[test]
    fn size_counts_every_code_line_but_the_tests() {
        let code = "//! doc\n\nfn a() {}\n/* c\n c */\nfn b() {\n}\n#[cfg(test)]\nmod tests {\n}\nfn after() {}\n";
        let t = tree(&[("src/a.rs", code)]);
        assert_eq!(
            t.oversized(3),
            ["src/a.rs: 4 lines of non-test code (limit 3)"]
        );
        assert!(t.oversized(4).is_empty());
    }
}
