//! Keeps the porting-audit reference (docs/*.md and README.md) true to the repository.
//!
//! Three checks, each reporting every offence it finds before failing:
//!
//! 1. **Relative links resolve.** Every inline link `[text](target)` and every reference
//!    definition `[label]: target` outside fenced code blocks and code spans, whose target
//!    has no URL scheme (`http:`, `https:`, `mailto:`, …), names a file or directory that
//!    exists, relative to the page. A `#fragment` (alone: the page itself) must be the
//!    GitHub slug of a heading of the target page, or an `<a id=…>` / `<a name=…>` in it.
//!    Slug rule (GitHub's): the heading's text with code-span backticks dropped and links
//!    replaced by their text, lower-cased; letters, digits, `_`, `-` and spaces kept,
//!    everything else removed; each space becomes `-`; the n-th repeat of a slug on one
//!    page gets `-n` appended.
//! 2. **Nothing outside the repository is cited.** No file under docs/ (generated pages
//!    included) and not README.md names one of the design and reference notes this project
//!    was started from, which never were in the repository, or the folder beside the
//!    checkout they lived in (the names are assembled in the test, so that this file does
//!    not cite them either).
//! 3. **Model names in function tables exist.** In every table of docs/*.md and README.md
//!    whose header has a column starting with `model function` (case-insensitive, so
//!    `model function (file)` counts), every code span of that column's cells is read as
//!    follows: the text before the first `(` (argument lists are not names) is split at
//!    `::` and `.`; a last segment ending in `.rs` must be a file under slab-model/src or
//!    verify/src; otherwise the last segment is a name that must be defined under
//!    slab-model/src or verify/src (any depth): `fn NAME` when it starts with a lower-case
//!    letter or `_`, `const` / `static NAME` when it is all upper-case, and `struct`,
//!    `enum`, `trait`, `type` or `union NAME` otherwise. A qualifier that starts with an
//!    upper-case letter (`Context` in `Context::free_block`) must be a defined type too.
//!    Spans that are not paths of identifiers (`"kmem_cache_shrink"`, `..`) are errors, so a
//!    table cell cannot hide a name in prose-like code.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Component, Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// docs/*.md and README.md, as (path relative to the root, text).
fn pages() -> Vec<(PathBuf, String)> {
    let root = root();
    let mut paths: Vec<PathBuf> = fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("readable docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    paths.sort();
    paths.push(root.join("README.md"));
    paths
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.strip_prefix(&root).unwrap().to_path_buf(), text)
        })
        .collect()
}

/// Lines outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut fence: Option<&str> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let marker = if t.starts_with("```") {
            Some("```")
        } else if t.starts_with("~~~") {
            Some("~~~")
        } else {
            None
        };
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(f), Some(m)) if f == m => fence = None,
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

/// The line with code spans blanked out (same length in chars is not needed: links
/// are searched in the result only).
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let fence = &rest[start..start + ticks];
        let after = &rest[start + ticks..];
        match after.find(fence) {
            Some(end) => rest = &after[end + ticks..],
            None => {
                out.push_str(&rest[start..]);
                return out;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Targets of inline links `[text](target "title")` in a line without code spans.
fn inline_link_targets(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while let Some(off) = line[i..].find("](") {
        let open = i + off + 2;
        // The matching ')' (targets do not contain parentheses in these pages, but allow
        // one level of nesting to be safe).
        let mut depth = 1;
        let mut j = open;
        while j < bytes.len() {
            match bytes[j] {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            j += 1;
        }
        if j >= bytes.len() {
            break;
        }
        let inner = line[open..j].trim();
        let target = inner.split_whitespace().next().unwrap_or("");
        let target = target.trim_start_matches('<').trim_end_matches('>');
        out.push(target.to_string());
        i = j + 1;
    }
    out
}

/// Target of a reference definition `[label]: target`.
fn reference_definition(line: &str) -> Option<String> {
    let t = line.trim_start();
    if !t.starts_with('[') || t.starts_with("[^") {
        return None;
    }
    let close = t.find("]:")?;
    let target = t[close + 2..].split_whitespace().next()?;
    Some(
        target
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string(),
    )
}

fn has_scheme(target: &str) -> bool {
    match target.find(':') {
        Some(colon) => {
            let scheme = &target[..colon];
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !target[..colon].contains('/')
        }
        None => false,
    }
}

/// Heading text rendered the way GitHub reads it for the slug: code spans lose their
/// backticks, links keep their text.
fn heading_text(raw: &str) -> String {
    let mut s = String::new();
    let mut rest = raw;
    while let Some(open) = rest.find('[') {
        match rest[open..].find("](") {
            Some(mid) => {
                let mid = open + mid;
                let Some(close) = rest[mid..].find(')') else {
                    break;
                };
                s.push_str(&rest[..open]);
                s.push_str(&rest[open + 1..mid]);
                rest = &rest[mid + close + 1..];
            }
            None => break,
        }
    }
    s.push_str(rest);
    s.replace('`', "")
}

fn slug(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter(|&c| c.is_alphanumeric() || c == '_' || c == '-' || c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every anchor a page offers: heading slugs (with GitHub's `-n` suffixes for repeats)
/// and explicit `<a id=…>` / `<a name=…>`.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let t = line.trim_start();
        let hashes = t.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && t[hashes..].starts_with(' ') {
            let raw = t[hashes..].trim().trim_end_matches('#').trim();
            let base = slug(&heading_text(raw));
            let n = seen.entry(base.clone()).or_insert(0);
            let s = if *n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            *n += 1;
            out.insert(s);
        }
        for key in ["<a id=\"", "<a name=\""] {
            let mut rest = line;
            while let Some(p) = rest.find(key) {
                let after = &rest[p + key.len()..];
                if let Some(end) = after.find('"') {
                    out.insert(after[..end].to_string());
                }
                rest = after;
            }
        }
    }
    out
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let root = root();
    let pages = pages();
    let mut anchor_cache: HashMap<PathBuf, BTreeSet<String>> = HashMap::new();
    let mut problems = Vec::new();
    let mut checked = 0usize;
    for (page, text) in &pages {
        let dir = page.parent().unwrap_or(Path::new(""));
        for (n, line) in prose_lines(text) {
            let plain = without_code_spans(line);
            let mut targets = inline_link_targets(&plain);
            targets.extend(reference_definition(&plain));
            for target in targets {
                if target.is_empty() || has_scheme(&target) {
                    continue;
                }
                checked += 1;
                let (file, fragment) = match target.split_once('#') {
                    Some((f, a)) => (f, Some(a)),
                    None => (target.as_str(), None),
                };
                let rel = if file.is_empty() {
                    page.clone()
                } else {
                    normalise(&dir.join(file))
                };
                let abs = root.join(&rel);
                if !abs.exists() {
                    problems.push(format!(
                        "{}:{n}: link `{target}`: {} does not exist",
                        page.display(),
                        rel.display()
                    ));
                    continue;
                }
                let Some(fragment) = fragment else { continue };
                if rel.extension().is_none_or(|x| x != "md") {
                    continue;
                }
                let offered = anchor_cache
                    .entry(rel.clone())
                    .or_insert_with(|| anchors(&fs::read_to_string(&abs).unwrap_or_default()));
                if !offered.contains(fragment) {
                    let near: Vec<&String> = offered
                        .iter()
                        .filter(|a| {
                            let stem = fragment.split('-').next().unwrap_or("");
                            !stem.is_empty() && a.starts_with(stem)
                        })
                        .take(3)
                        .collect();
                    problems.push(format!(
                        "{}:{n}: link `{target}`: {} has no heading with slug `{fragment}`{}",
                        page.display(),
                        rel.display(),
                        if near.is_empty() {
                            String::new()
                        } else {
                            format!(" (similar: {near:?})")
                        }
                    ));
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} relative links found: is the parser broken?"
    );
    assert!(
        problems.is_empty(),
        "{} broken relative link(s) of {checked}:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn the_docs_cite_nothing_outside_the_repository() {
    // Assembled from parts: the names of notes outside the repository, and of the
    // folder that held them, must not stand in this file either.
    let forbidden: Vec<String> = [
        ["kernel", "-facts"],
        ["tooling", "-notes"],
        ["DESIGN", ".md"],
        ["../", "shared"],
        ["/work/", "shared"],
    ]
    .iter()
    .map(|p| p.concat())
    .collect();
    let mut problems = Vec::new();
    for (page, text) in pages() {
        for (i, line) in text.lines().enumerate() {
            for word in &forbidden {
                if line.contains(word) {
                    problems.push(format!("{}:{}: names `{word}`", page.display(), i + 1));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the docs cite files that are not in the repository:\n  {}",
        problems.join("\n  ")
    );
}

/// Names defined in the Rust sources of the model and the verifier.
#[derive(Default)]
struct Definitions {
    fns: BTreeSet<String>,
    types: BTreeSet<String>,
    consts: BTreeSet<String>,
    files: BTreeSet<String>,
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_ident_char) && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Identifiers that follow `keyword ` anywhere in `src` (generic parameters, `pub(crate)`
/// and the like come before the keyword, so they do not matter).
fn after_keyword(src: &str, keyword: &str, into: &mut BTreeSet<String>) {
    let pat = format!("{keyword} ");
    let mut rest = src;
    while let Some(p) = rest.find(&pat) {
        let before_ok = rest[..p]
            .chars()
            .next_back()
            .is_none_or(|c| !is_ident_char(c));
        let after = &rest[p + pat.len()..];
        if before_ok {
            let name: String = after
                .trim_start()
                .chars()
                .take_while(|&c| is_ident_char(c))
                .collect();
            if is_ident(&name) {
                into.insert(name);
            }
        }
        rest = after;
    }
}

fn collect_definitions(dir: &Path, defs: &mut Definitions) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("readable source entry").path();
        if path.is_dir() {
            collect_definitions(&path, defs);
        } else if path.extension().is_some_and(|x| x == "rs") {
            defs.files
                .insert(path.file_name().unwrap().to_string_lossy().into_owned());
            let src = fs::read_to_string(&path).unwrap_or_default();
            after_keyword(&src, "fn", &mut defs.fns);
            for k in ["struct", "enum", "trait", "type", "union"] {
                after_keyword(&src, k, &mut defs.types);
            }
            for k in ["const", "static"] {
                after_keyword(&src, k, &mut defs.consts);
            }
        }
    }
}

/// Table cells as trimmed strings (`|` inside code spans is escaped as `\|` in these pages).
fn table_cells(line: &str) -> Option<Vec<String>> {
    let t = line.trim();
    if !t.starts_with('|') {
        return None;
    }
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut chars = t[1..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        cells.push(cur.trim().to_string());
    }
    Some(cells)
}

fn code_spans(cell: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = cell;
    while let Some(start) = rest.find('`') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('`') else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// Checks one code span of a model-function cell; `Err` names what is missing.
fn check_model_name(span: &str, defs: &Definitions) -> Result<(), String> {
    let path = span.split('(').next().unwrap_or("").trim();
    if let Some(file) = path.strip_suffix(".rs") {
        let name = format!("{}.rs", file.rsplit('/').next().unwrap_or(file));
        return if defs.files.contains(&name) {
            Ok(())
        } else {
            Err(format!("no file {name} under slab-model/src or verify/src"))
        };
    }
    let segments: Vec<&str> = path.split("::").flat_map(|s| s.split('.')).collect();
    if segments.iter().any(|s| !is_ident(s)) {
        return Err("not a path of identifiers".to_string());
    }
    let (name, qualifiers) = segments.split_last().expect("split yields one segment");
    for q in qualifiers {
        if q.starts_with(|c: char| c.is_ascii_uppercase()) && !defs.types.contains(*q) {
            return Err(format!("no type {q}"));
        }
    }
    let first = name.chars().next().expect("identifier is not empty");
    let (found, kind) = if first.is_ascii_lowercase() || first == '_' {
        (defs.fns.contains(*name), "fn")
    } else if name
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        (defs.consts.contains(*name), "const or static")
    } else {
        (defs.types.contains(*name), "type")
    };
    if found {
        Ok(())
    } else {
        Err(format!("no {kind} {name}"))
    }
}

#[test]
fn every_model_function_a_docs_table_names_exists() {
    let root = root();
    let mut defs = Definitions::default();
    collect_definitions(&root.join("slab-model/src"), &mut defs);
    collect_definitions(&root.join("verify/src"), &mut defs);
    assert!(
        defs.fns.contains("cache_alloc_refill"),
        "source scan found no cache_alloc_refill: is the scanner broken?"
    );
    let mut problems = Vec::new();
    let mut checked = 0usize;
    for (page, text) in pages() {
        let mut column: Option<usize> = None;
        let mut header_line = 0;
        for (n, line) in prose_lines(&text) {
            let Some(cells) = table_cells(line) else {
                column = None;
                continue;
            };
            match column {
                None => {
                    column = cells
                        .iter()
                        .position(|c| c.to_lowercase().starts_with("model function"));
                    header_line = n;
                    // A table without such a column: mark it so its rows are skipped.
                    if column.is_none() {
                        column = Some(usize::MAX);
                    }
                }
                Some(usize::MAX) => {}
                Some(_) if n == header_line + 1 => {} // the |---| delimiter row
                Some(col) => {
                    let Some(cell) = cells.get(col) else { continue };
                    for span in code_spans(cell) {
                        checked += 1;
                        if let Err(why) = check_model_name(&span, &defs) {
                            problems.push(format!(
                                "{}:{n}: model function `{span}`: {why}",
                                page.display()
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} model names found: is the table parser broken?"
    );
    assert!(
        problems.is_empty(),
        "{} model name(s) of {checked} in docs tables do not exist in slab-model/src or verify/src:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}
