//! Swimlane diagrams as standalone SVG: one lane (column) per execution context, time
//! (trace order) downwards, one row per model event; lock-held and interrupts-off spans
//! as bars at the left of their lane, the hazard's window as a band across the lanes,
//! the events that make the window a witness marked, the failing access in red.
//!
//! Built from a witness execution ([`Diagram::of_witness`]) or a counterexample's
//! structured trace ([`Diagram::of_failure`]). The output is a pure function of its input
//! (no clock, no hash order), so committed diagrams can be compared byte for byte.

use crate::scenarios::{FailureTrace, RunTrace};
use crate::witness::Witness;
use slab_model::trace::{Event, NO_CPU};
use std::fmt::Write as _;

/// Rows a witness diagram shows at most: longer runs show the window with
/// [`CONTEXT_ROWS`] events either side.
pub const MAX_ROWS: usize = 160;
/// Events shown before and after the window when a run is cut.
pub const CONTEXT_ROWS: usize = 16;

/// One row: an event in one lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The time-axis label (the event's sequence number).
    pub seq: String,
    /// Lane index.
    pub lane: usize,
    /// Event class (`slab_model::trace::EventKind::class`, or `failure`).
    pub class: String,
    /// The lock a `lock` / `unlock` row takes or releases.
    pub lock: Option<String>,
    /// What happened.
    pub text: String,
    /// One of the events that make the window a witness.
    pub mark: bool,
    /// The failing access.
    pub failing: bool,
}

/// The band across the lanes that marks the hazard's window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Band {
    /// First row of the window.
    pub first: usize,
    /// Last row of the window.
    pub last: usize,
    /// What the window is.
    pub label: String,
}

/// A diagram before layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagram {
    /// Title line.
    pub title: String,
    /// Lines under the title (how it was found, how to reproduce it).
    pub lines: Vec<String>,
    /// Lane names, in column order.
    pub lanes: Vec<String>,
    /// Rows, oldest first.
    pub rows: Vec<Row>,
    /// The window.
    pub window: Option<Band>,
    /// Events of the run before the first row and after the last that are not shown.
    pub hidden: (u64, u64),
}

fn cpu_prefix(cpu: u16) -> String {
    if cpu as usize == NO_CPU {
        String::new()
    } else {
        format!("cpu{cpu} ")
    }
}

/// `cpuN what (cache)`, as `Trace::describe` writes it.
fn describe(t: &RunTrace, e: &Event) -> String {
    match t.caches.get(&e.cache).filter(|c| !c.is_empty()) {
        Some(c) => format!("{}{} ({c})", cpu_prefix(e.cpu), e.kind),
        None => format!("{}{}", cpu_prefix(e.cpu), e.kind),
    }
}

/// Whether lane `i` (of `names`, with first / last row positions) is single-threaded
/// setup: a `setup*` context, or one whose rows all come before every other non-setup
/// lane's first row (the scenario's `kmem_cache_create` before the contexts start).
fn setup_lanes(names: &[String], first: &[usize], last: &[usize]) -> Vec<bool> {
    let named: Vec<bool> = names.iter().map(|n| n.starts_with("setup")).collect();
    let setup: Vec<bool> = (0..names.len())
        .map(|i| {
            named[i]
                || (0..names.len())
                    .filter(|&j| j != i && !named[j])
                    .all(|j| last[i] < first[j])
        })
        .collect();
    if setup.iter().all(|&s| s) {
        named
    } else {
        setup
    }
}

impl Diagram {
    /// The diagram of a witness: the run from the first event of a context that is not
    /// setup (cut around the window when longer than [`MAX_ROWS`]), the window banded
    /// and its hazard events marked.
    pub fn of_witness(w: &Witness) -> Diagram {
        let info = w.id.info();
        let switches: Vec<&str> = w.params.mutations.iter().map(|m| m.name()).collect();
        let lines = vec![
            format!(
                "witness found by slab-verify: shuttle random scheduler, seed {} (execution {} of the search; --ops {}, --cpus {}{})",
                w.seed,
                w.executions,
                w.params.ops,
                w.params.cpus,
                if switches.is_empty() {
                    String::new()
                } else {
                    format!(", fix switch {}", switches.join(", "))
                }
            ),
            format!("window: {}", w.found.label),
            format!(
                "the same execution: slab-verify run {} --era {} --ops {} --cpus {} --seed {} --iterations 1{}",
                info.name,
                w.params.era.to_string().to_lowercase(),
                w.params.ops,
                w.params.cpus,
                w.seed,
                switches
                    .iter()
                    .map(|s| format!(" --mutation {s}"))
                    .collect::<String>()
            ),
        ];
        let title = format!(
            "{} (hazard {}), era {}: a witness execution",
            info.name,
            info.hazard,
            w.params.era_label()
        );
        Diagram::of_run(title, lines, &w.trace, Some(&w.found), None)
    }

    /// The diagram of one run's whole trace: from the first event of a context that is
    /// not setup (cut around the window, or to the last rows, when longer than
    /// [`MAX_ROWS`]); `found` banded and marked; `failing` (context name, text) appended
    /// as the last row, in that context's lane.
    pub fn of_run(
        title: String,
        mut lines: Vec<String>,
        t: &RunTrace,
        found: Option<&crate::witness::Found>,
        failing: Option<(&str, &str)>,
    ) -> Diagram {
        let ev = &t.events;
        let nctx = t.contexts.len();
        let first: Vec<usize> = (0..nctx)
            .map(|c| {
                ev.iter()
                    .position(|e| e.ctx as usize == c)
                    .unwrap_or(usize::MAX)
            })
            .collect();
        let last: Vec<usize> = (0..nctx)
            .map(|c| ev.iter().rposition(|e| e.ctx as usize == c).unwrap_or(0))
            .collect();
        let setup = setup_lanes(&t.contexts, &first, &last);
        let begin = ev.iter().position(|e| !setup[e.ctx as usize]).unwrap_or(0);
        let pos = |seq: u64| ev.iter().position(|e| e.seq == seq).unwrap_or(0);
        let window = found.map(|f| (pos(f.start), pos(f.end)));
        let (mut lo, mut hi) = (window.map_or(begin, |(ws, _)| begin.min(ws)), ev.len());
        if hi - lo > MAX_ROWS {
            match window {
                Some((ws, we)) => {
                    lo = ws.saturating_sub(CONTEXT_ROWS).max(lo);
                    hi = (we + 1 + CONTEXT_ROWS).min(ev.len()).max(lo + 1);
                }
                None => lo = hi - MAX_ROWS,
            }
        }
        let shown = &ev[lo..hi];
        // Lanes in first-appearance order among the rows shown.
        let mut lanes: Vec<String> = Vec::new();
        let lane_of =
            |lanes: &mut Vec<String>, name: &str| match lanes.iter().position(|l| l == name) {
                Some(i) => i,
                None => {
                    lanes.push(name.to_string());
                    lanes.len() - 1
                }
            };
        let marks: &[u64] = found.map_or(&[], |f| &f.marks);
        let mut rows: Vec<Row> = shown
            .iter()
            .map(|e| Row {
                seq: e.seq.to_string(),
                lane: lane_of(
                    &mut lanes,
                    t.contexts.get(e.ctx as usize).map_or("?", |s| s.as_str()),
                ),
                class: e.kind.class().to_string(),
                lock: e.kind.lock().map(|l| l.to_string()),
                text: describe(t, e),
                mark: marks.contains(&e.seq),
                failing: false,
            })
            .collect();
        if let Some((ctx, text)) = failing {
            rows.push(Row {
                seq: "✗".into(),
                lane: lane_of(&mut lanes, ctx),
                class: "failure".into(),
                lock: None,
                text: text.to_string(),
                mark: false,
                failing: true,
            });
        }
        let earlier = lo as u64 + t.recorded.saturating_sub(ev.len() as u64);
        let later = (ev.len() - hi) as u64;
        if earlier > 0 || later > 0 {
            lines.push(format!(
                "{earlier} earlier events (setup first) and {later} later events not shown"
            ));
        }
        Diagram {
            title,
            lines,
            lanes,
            window: window.map(|(ws, we)| Band {
                first: ws - lo,
                last: we - lo,
                label: found.map(|f| f.label.clone()).unwrap_or_default(),
            }),
            rows,
            hidden: (earlier, later),
        }
    }

    /// The diagram of a counterexample: its rows (setup lanes folded away), the failing
    /// access last and in red; the window is the concurrent part from the first row of
    /// the failing context to the failure.
    pub fn of_failure(title: String, lines: Vec<String>, ft: &FailureTrace) -> Diagram {
        let keep: Vec<bool> = if ft.lanes.iter().all(|l| l.setup) {
            vec![true; ft.lanes.len()]
        } else {
            ft.lanes.iter().map(|l| !l.setup).collect()
        };
        let mut lane_map: Vec<Option<usize>> = Vec::new();
        let mut lanes = Vec::new();
        for (i, l) in ft.lanes.iter().enumerate() {
            if keep[i] {
                lane_map.push(Some(lanes.len()));
                lanes.push(l.name.clone());
            } else {
                lane_map.push(None);
            }
        }
        let folded = ft.rows.iter().filter(|r| !keep[r.lane]).count();
        let rows: Vec<Row> = ft
            .rows
            .iter()
            .filter_map(|r| {
                Some(Row {
                    seq: if r.failing {
                        "✗".to_string()
                    } else {
                        r.seq.to_string()
                    },
                    lane: lane_map[r.lane]?,
                    class: r.class.to_string(),
                    lock: r.lock.clone(),
                    text: r.text.clone(),
                    mark: false,
                    failing: r.failing,
                })
            })
            .collect();
        let mut lines = lines;
        lines.push(format!("violated: {}", ft.invariant));
        if ft.earlier_events > 0 || folded > 0 {
            lines.push(format!(
                "the last rows of the run: {} earlier events and {folded} setup rows not shown",
                ft.earlier_events
            ));
        }
        let window = rows.iter().position(|r| r.failing).map(|f| {
            let lane = rows[f].lane;
            let first = rows.iter().position(|r| r.lane == lane).unwrap_or(f);
            Band {
                first,
                last: f,
                label: format!(
                    "{} from its first row shown to the failing access",
                    lanes[lane]
                ),
            }
        });
        Diagram {
            title,
            lines,
            lanes,
            rows,
            window,
            hidden: (ft.earlier_events, 0),
        }
    }
}

/// Escapes text for SVG (XML) character data and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// A held lock or an interrupts-off stretch: a bar in its lane from row `from` to row
/// `to` (inclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Bar {
    lane: usize,
    from: usize,
    to: usize,
    /// The lock's name, or `irqs off (cpuN)`.
    what: String,
    irq: bool,
    slot: usize,
}

/// What an event does to the interrupts of its CPU: `Some(true)` turns them off.
fn irq_effect(class: &str) -> Option<bool> {
    match class {
        "irq-off" | "irq-window-close" => Some(true),
        "irq-on" | "irq-window-open" => Some(false),
        _ => None,
    }
}

/// The CPU a row's text names (`cpuN ...`), for irq spans.
fn row_cpu(r: &Row) -> String {
    r.text
        .split_whitespace()
        .next()
        .filter(|w| w.starts_with("cpu"))
        .unwrap_or("")
        .to_string()
}

/// Lock-held and irq-off bars: a span runs from its lock / irq-off row to the matching
/// unlock / irq-on row of the same lane; one still open at the end runs to the last row,
/// one closed without an opening row shown runs from the first.
fn bars(d: &Diagram) -> Vec<Bar> {
    let mut open: Vec<(usize, String, bool, usize)> = Vec::new(); // lane, key, irq, from
    let mut out: Vec<Bar> = Vec::new();
    let last = d.rows.len().saturating_sub(1);
    for (i, r) in d.rows.iter().enumerate() {
        let (key, irq, opens) = match (r.class.as_str(), &r.lock, irq_effect(&r.class)) {
            ("lock", Some(l), _) => (l.clone(), false, true),
            ("unlock", Some(l), _) => (l.clone(), false, false),
            (_, _, Some(off)) => (format!("irqs off ({})", row_cpu(r)), true, off),
            _ => continue,
        };
        let pos = open
            .iter()
            .position(|(lane, k, _, _)| *lane == r.lane && *k == key);
        match (opens, pos) {
            (true, None) => open.push((r.lane, key, irq, i)),
            (true, Some(_)) => {}
            (false, Some(p)) => {
                let (lane, what, irq, from) = open.remove(p);
                out.push(Bar {
                    lane,
                    from,
                    to: i,
                    what,
                    irq,
                    slot: 0,
                });
            }
            (false, None) => out.push(Bar {
                lane: r.lane,
                from: 0,
                to: i,
                what: key,
                irq,
                slot: 0,
            }),
        }
    }
    for (lane, what, irq, from) in open {
        out.push(Bar {
            lane,
            from,
            to: last,
            what,
            irq,
            slot: 0,
        });
    }
    out.sort_by(|a, b| (a.lane, a.from, !a.irq, &a.what).cmp(&(b.lane, b.from, !b.irq, &b.what)));
    // Slots: the lowest one free in the lane over the bar's rows.
    for i in 0..out.len() {
        let mut slot = 0;
        while out[..i].iter().any(|b| {
            b.lane == out[i].lane && b.slot == slot && b.from <= out[i].to && out[i].from <= b.to
        }) {
            slot += 1;
        }
        out[i].slot = slot;
    }
    out
}

/// Bar colours for locks, by first appearance.
const PALETTE: &[&str] = &[
    "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#d62728",
];
const IRQ_COLOUR: &str = "#7f7f7f";

fn text_colour(r: &Row) -> &'static str {
    if r.failing {
        return "#b00000";
    }
    match r.class.as_str() {
        "irq-window-open" | "irq-window-close" => "#0b4f9c",
        "migrate" | "cpu-online" => "#7a1fa2",
        "lock" | "unlock" | "trylock-failed" => "#333333",
        "enter" => "#000000",
        "unlocked-access" => "#a05a00",
        _ => "#444444",
    }
}

const ROW_H: usize = 16;
const CHAR_W: f64 = 6.7;
/// The legend's label for the irq-off bars.
const IRQ_LEGEND: &str = "interrupts off (on the CPU the rows name)";
const SEQ_W: usize = 64;
const SLOT_W: usize = 7;
const MARGIN: usize = 16;

/// Renders the diagram as a standalone SVG document.
pub fn render(d: &Diagram) -> String {
    let bars = bars(d);
    let nl = d.lanes.len().max(1);
    let slots: Vec<usize> = (0..nl)
        .map(|l| {
            bars.iter()
                .filter(|b| b.lane == l)
                .map(|b| b.slot + 1)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let chars = |s: &str| s.chars().count();
    let lane_w: Vec<usize> = (0..nl)
        .map(|l| {
            let text = d
                .rows
                .iter()
                .filter(|r| r.lane == l)
                .map(|r| chars(&r.text))
                .chain(d.lanes.get(l).map(|n| chars(n)))
                .max()
                .unwrap_or(8);
            slots[l] * SLOT_W + 10 + (text as f64 * CHAR_W).ceil() as usize + 12
        })
        .collect();
    let lane_x: Vec<usize> = (0..nl)
        .scan(MARGIN + SEQ_W, |x, l| {
            let at = *x;
            *x += lane_w[l];
            Some(at)
        })
        .collect();
    let lanes_right =
        lane_x.last().copied().unwrap_or(MARGIN + SEQ_W) + lane_w.last().copied().unwrap_or(0);
    // Lock colours, by first appearance.
    let mut locks: Vec<String> = Vec::new();
    for b in bars.iter().filter(|b| !b.irq) {
        if !locks.contains(&b.what) {
            locks.push(b.what.clone());
        }
    }
    let colour = |what: &str| -> &'static str {
        locks
            .iter()
            .position(|l| l == what)
            .map_or(IRQ_COLOUR, |i| PALETTE[i % PALETTE.len()])
    };
    let title_h = 34 + d.lines.len() * 16;
    let head_y = title_h + 8;
    let rows_y = head_y + 24;
    let rows_h = d.rows.len() * ROW_H;
    let legend_y = rows_y + rows_h + 24;
    let legend_items = 4 + locks.len();
    let text_w = std::iter::once(chars(&d.title) as f64 * 8.8)
        .chain(d.lines.iter().map(|l| chars(l) as f64 * CHAR_W))
        .fold(0.0, f64::max)
        .ceil() as usize
        + 2 * MARGIN;
    let width = (lanes_right + MARGIN).max(text_w).max(720);
    // Legend columns as wide as the longest label (the mark, a gap, the text), at most
    // three: a label never runs into the next column's mark.
    let longest_label = locks
        .iter()
        .map(|l| chars(&format!("{l} held")))
        .chain(std::iter::once(chars(IRQ_LEGEND)))
        .max()
        .unwrap_or(0);
    let col_w = 30 + (longest_label as f64 * CHAR_W).ceil() as usize + 16;
    let legend_cols = ((width - 2 * MARGIN) / col_w).clamp(1, 3);
    let legend_h = 20 + legend_items.div_ceil(legend_cols) * 18;
    let height = legend_y + legend_h + MARGIN;
    let row_top = |i: usize| rows_y + i * ROW_H;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="11">
<title>{}</title>
<desc>{}</desc>
<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>"##,
        esc(&d.title),
        esc(&d.lines.join("\n"))
    );
    // Title block.
    let _ = writeln!(
        s,
        r#"<text x="{MARGIN}" y="24" font-size="15" font-weight="bold" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">{}</text>"#,
        esc(&d.title)
    );
    for (i, l) in d.lines.iter().enumerate() {
        let _ = writeln!(
            s,
            r##"<text x="{MARGIN}" y="{}" fill="#333333">{}</text>"##,
            44 + i * 16,
            esc(l)
        );
    }
    // Window band (under everything else in the rows).
    if let Some(w) = &d.window {
        let y0 = row_top(w.first);
        let h = (w.last + 1 - w.first) * ROW_H;
        let _ = writeln!(
            s,
            r##"<g id="window"><title>{}</title><rect x="{MARGIN}" y="{y0}" width="{}" height="{h}" fill="#ffe9a8" fill-opacity="0.55" stroke="#e08e00" stroke-width="1.5" stroke-dasharray="6 3"/><text x="{}" y="{}" fill="#b06000" font-weight="bold" text-anchor="end">window</text></g>"##,
            esc(&w.label),
            lanes_right - MARGIN,
            lanes_right - 4,
            y0 + 12
        );
    }
    // Lane headers and separators.
    for l in 0..nl {
        let x = lane_x[l];
        let _ = writeln!(
            s,
            r##"<rect x="{x}" y="{head_y}" width="{}" height="20" fill="#e8eef7" stroke="#b7c4d6"/><text x="{}" y="{}" font-weight="bold">{}</text><line x1="{x}" y1="{rows_y}" x2="{x}" y2="{}" stroke="#d0d7e2"/>"##,
            lane_w[l],
            x + 6,
            head_y + 14,
            esc(d.lanes.get(l).map_or("", |n| n.as_str())),
            rows_y + rows_h
        );
    }
    let _ = writeln!(
        s,
        r##"<line x1="{lanes_right}" y1="{rows_y}" x2="{lanes_right}" y2="{}" stroke="#d0d7e2"/>"##,
        rows_y + rows_h
    );
    // Time axis.
    let axis_x = MARGIN + SEQ_W - 10;
    let bottom = rows_y + rows_h;
    let _ = writeln!(
        s,
        r##"<text x="{MARGIN}" y="{}" font-weight="bold">seq</text><text x="{MARGIN}" y="{}" fill="#555555" font-size="9">time ↓</text><line x1="{axis_x}" y1="{rows_y}" x2="{axis_x}" y2="{bottom}" stroke="#555555"/><path d="M{} {bottom} L{} {bottom} L{axis_x} {} z" fill="#555555"/>"##,
        head_y + 9,
        head_y + 19,
        axis_x - 4,
        axis_x + 4,
        bottom + 8
    );
    // Bars.
    for b in &bars {
        let x = lane_x[b.lane] + 4 + b.slot * SLOT_W;
        let y = row_top(b.from) + 2;
        let h = (b.to + 1 - b.from) * ROW_H - 4;
        let (what, fill) = if b.irq {
            (b.what.clone(), IRQ_COLOUR)
        } else {
            (format!("{} held", b.what), colour(&b.what))
        };
        let _ = writeln!(
            s,
            r#"<rect class="bar {}" x="{x}" y="{y}" width="5" height="{h}" rx="2" fill="{fill}"><title>{} by {} (rows {}-{})</title></rect>"#,
            if b.irq { "irq" } else { "lock" },
            esc(&what),
            esc(&d.lanes[b.lane]),
            d.rows[b.from].seq,
            d.rows[b.to].seq
        );
    }
    // Rows.
    for (i, r) in d.rows.iter().enumerate() {
        let y = row_top(i);
        let x = lane_x[r.lane] + slots[r.lane] * SLOT_W + 10;
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" fill="#777777">{}</text>"##,
            MARGIN + 2,
            y + 12,
            esc(&r.seq)
        );
        if r.mark || r.failing {
            let w = (chars(&r.text) as f64 * CHAR_W).ceil() as usize + 6;
            let (fill, stroke) = if r.failing {
                ("#ffd6d6", "#b00000")
            } else {
                ("#ffc8a0", "#d2550a")
            };
            let _ = writeln!(
                s,
                r#"<rect class="{}" x="{}" y="{}" width="{w}" height="{}" rx="3" fill="{fill}" stroke="{stroke}"/>"#,
                if r.failing { "failing" } else { "mark" },
                x - 3,
                y + 1,
                ROW_H - 2
            );
        }
        let weight = if r.mark || r.failing {
            r#" font-weight="bold""#
        } else {
            ""
        };
        let _ = writeln!(
            s,
            r#"<text x="{x}" y="{}" fill="{}"{weight}>{}</text>"#,
            y + 12,
            text_colour(r),
            esc(&r.text)
        );
    }
    // Legend.
    let mut items: Vec<(String, String)> = vec![
        (
            format!(r#"<rect x="0" y="-9" width="5" height="12" rx="2" fill="{IRQ_COLOUR}"/>"#),
            IRQ_LEGEND.into(),
        ),
        (
            r##"<rect x="0" y="-9" width="22" height="12" fill="#ffe9a8" stroke="#e08e00" stroke-dasharray="6 3"/>"##.into(),
            "the hazard's window".into(),
        ),
        (
            r##"<rect x="0" y="-9" width="22" height="12" rx="3" fill="#ffc8a0" stroke="#d2550a"/>"##.into(),
            "event that makes it a witness".into(),
        ),
        (
            r##"<rect x="0" y="-9" width="22" height="12" rx="3" fill="#ffd6d6" stroke="#b00000"/>"##.into(),
            "the failing access".into(),
        ),
    ];
    for l in &locks {
        items.push((
            format!(
                r#"<rect x="0" y="-9" width="5" height="12" rx="2" fill="{}"/>"#,
                colour(l)
            ),
            format!("{l} held"),
        ));
    }
    let _ = writeln!(
        s,
        r#"<g id="legend"><text x="{MARGIN}" y="{legend_y}" font-weight="bold">legend</text>"#
    );
    let col_w = (width - 2 * MARGIN) / legend_cols;
    for (k, (mark, label)) in items.iter().enumerate() {
        let x = MARGIN + (k % legend_cols) * col_w;
        let y = legend_y + 20 + (k / legend_cols) * 18;
        let _ = writeln!(
            s,
            r#"<g transform="translate({x} {y})">{mark}<text x="30" y="1">{}</text></g>"#,
            esc(label)
        );
    }
    s.push_str("</g>\n</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(lane: usize, class: &str, lock: Option<&str>, text: &str) -> Row {
        Row {
            seq: "0".into(),
            lane,
            class: class.into(),
            lock: lock.map(|l| l.into()),
            text: text.into(),
            mark: false,
            failing: false,
        }
    }

    #[test]
    fn spans_match_by_lane_and_lock_and_nest_in_slots() {
        let d = Diagram {
            title: "t".into(),
            lines: vec![],
            lanes: vec!["a".into(), "b".into()],
            rows: vec![
                row(0, "irq-off", None, "cpu0 local_irq_disable"),
                row(0, "lock", Some("node0.list_lock"), "cpu0 spin_lock"),
                row(1, "lock", Some("zone->lock"), "cpu1 spin_lock"),
                row(0, "unlock", Some("node0.list_lock"), "cpu0 spin_unlock"),
                row(0, "irq-on", None, "cpu0 local_irq_enable"),
            ],
            window: None,
            hidden: (0, 0),
        };
        let b = bars(&d);
        assert_eq!(b.len(), 3, "{b:?}");
        let irq = b.iter().find(|x| x.irq).unwrap();
        assert_eq!((irq.lane, irq.from, irq.to, irq.slot), (0, 0, 4, 0));
        let l = b.iter().find(|x| x.what == "node0.list_lock").unwrap();
        assert_eq!((l.from, l.to, l.slot), (1, 3, 1));
        let z = b.iter().find(|x| x.what == "zone->lock").unwrap();
        assert_eq!(
            (z.lane, z.from, z.to),
            (1, 2, 4),
            "open at the end: to the last row"
        );
    }

    #[test]
    fn text_is_escaped() {
        let d = Diagram {
            title: "<&>".into(),
            lines: vec!["\"q\" 'a'".into()],
            lanes: vec!["l<1>".into()],
            rows: vec![row(0, "enter", None, "a < b & c")],
            window: None,
            hidden: (0, 0),
        };
        let s = render(&d);
        assert!(s.contains("&lt;&amp;&gt;") && s.contains("a &lt; b &amp; c"));
        assert!(s.contains("&quot;q&quot; &#39;a&#39;") && s.contains("l&lt;1&gt;"));
        assert!(!s.contains("a < b"));
    }
}
