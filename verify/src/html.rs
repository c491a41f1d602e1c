//! The counterexample as one self-contained HTML page (inline CSS, no script, no external
//! resource), laid out so that a kernel engineer sees the race at a glance:
//!
//! * the violated invariant, what was held at the failure, and what the switched-on
//!   mutation (or the shipped bug of a faithful era model) is, with its kernel reference;
//! * the interleaving: one column per execution context, one row per model event, oldest
//!   first, cells wrapped, never truncated. Every row between a lane's `lock` and its
//!   `unlock` of the same lock carries a bar in that lock's colour at the left edge of the
//!   lane's cell (a legend names the colours); every row between a lane's `irq-off` /
//!   `irq-window-close` and the next `irq-on` / `irq-window-open` on the same CPU is shaded,
//!   with a hatched bar at the right edge. A span whose opening is older than the first
//!   row starts at the top, one still open at the failure runs to the bottom. The last row,
//!   the failing access, is red and marked "✗ failing access"; no other row is;
//! * the single-threaded setup rows that come before any concurrent context folded into a
//!   collapsed `<details>`;
//! * the state at the failure of the arrays and slabs the rows involve, the replay command
//!   and the full failure message (collapsed).

use crate::drivers::shuttle::{CampaignReport, Counterexample};
use crate::scenarios::{FailureTrace, ScenarioId};
use slab_model::mutation::{ShippedBug, SwitchKind};
use slab_model::Mutation;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// What the page is made of.
#[derive(Clone, Debug)]
pub struct Page<'a> {
    /// The scenario and its parameters (`migrate-across-window era A cpus 2 ...`).
    pub title: &'a str,
    /// The full failure message (the invariant and the text trace).
    pub message: &'a str,
    /// The replay token.
    pub token: &'a str,
    /// The structured trace.
    pub trace: &'a FailureTrace,
    /// The catalogue switches on in the run (mutations and fix switches).
    pub mutations: Vec<Mutation>,
    /// The shipped bug this failure is, when the faithful model of the run's era has it
    /// and the failure shows its symptom.
    pub shipped: Option<&'static ShippedBug>,
}

impl<'a> Page<'a> {
    /// The page of a failed shuttle campaign: the switches from its parameters, and the
    /// scenario's shipped bug of the run's era if its fix is off and the violated
    /// invariant shows the bug's symptom.
    pub fn of_campaign(
        title: &'a str,
        r: &CampaignReport,
        f: &'a Counterexample,
        trace: &'a FailureTrace,
    ) -> Page<'a> {
        let invariant = f.message.lines().next().unwrap_or("");
        let shipped = ScenarioId::from_name(r.scenario)
            .and_then(|id| id.info().shipped_in(r.params.era))
            .filter(|b| !r.params.mutations.has(b.switch) && invariant.contains(b.symptom));
        Page {
            title,
            message: &f.message,
            token: &f.token,
            trace,
            mutations: r.params.mutations.iter().collect(),
            shipped,
        }
    }
}

/// One lock-held or interrupts-off span of one lane, over row indices (both ends
/// included: the `lock` row and the `unlock` row).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Span {
    lane: usize,
    /// The lock held, or `None` for interrupts off.
    lock: Option<String>,
    /// The cache of the lock (a list_lock is per cache) / the CPU whose interrupts are off.
    cache: Option<String>,
    cpu: u16,
    first: usize,
    last: usize,
    /// Opened before the first row (its `unlock` / `irq-on` has no opening in view).
    from_top: bool,
    /// Still open at the failure.
    to_bottom: bool,
    /// Horizontal position among the lane's lock bars (0 = outermost).
    slot: usize,
}

const LOCK_COLOURS: &[&str] = &[
    "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22",
    "#393b79", "#7f7f7f", "#637939", "#843c39",
];

fn is_irq_off(class: &str) -> bool {
    matches!(class, "irq-off" | "irq-window-close")
}

fn is_irq_on(class: &str) -> bool {
    matches!(class, "irq-on" | "irq-window-open")
}

/// Which open lock an `unlock` of `lock` (of `cache`) closes: the innermost one of the same
/// lock and cache, else the innermost one of the same lock.
fn matching(
    open: &[(String, Option<String>)],
    lock: &str,
    cache: &Option<String>,
) -> Option<usize> {
    open.iter()
        .rposition(|(l, c)| l == lock && c == cache)
        .or_else(|| open.iter().rposition(|(l, _)| l == lock))
}

fn lane_count(t: &FailureTrace) -> usize {
    t.rows
        .iter()
        .map(|r| r.lane + 1)
        .max()
        .unwrap_or(0)
        .max(t.lanes.len())
}

/// The lock and irq-off spans of every lane, computed from the rows.
fn spans(t: &FailureTrace) -> Vec<Span> {
    let n = t.rows.len();
    let mut out = Vec::new();
    if n == 0 {
        return out;
    }
    for lane in 0..lane_count(t) {
        let idx: Vec<usize> = (0..n).filter(|&i| t.rows[i].lane == lane).collect();
        // Locks held before the first row: the unlocks that match no lock in view.
        let mut held: Vec<(String, Option<String>)> = Vec::new();
        let mut before: Vec<(String, Option<String>)> = Vec::new();
        for &i in &idx {
            let r = &t.rows[i];
            let Some(l) = &r.lock else { continue };
            match r.class {
                "lock" => held.push((l.clone(), r.cache.clone())),
                "unlock" => match matching(&held, l, &r.cache) {
                    Some(p) => {
                        held.remove(p);
                    }
                    None => before.push((l.clone(), r.cache.clone())),
                },
                _ => {}
            }
        }
        // The lock released last was taken first: it is the outermost.
        before.reverse();
        let mut open: Vec<Span> = before
            .into_iter()
            .enumerate()
            .map(|(slot, (l, c))| Span {
                lane,
                lock: Some(l),
                cache: c,
                cpu: 0,
                first: 0,
                last: 0,
                from_top: true,
                to_bottom: false,
                slot,
            })
            .collect();
        for &i in &idx {
            let r = &t.rows[i];
            let Some(l) = &r.lock else { continue };
            match r.class {
                "lock" => {
                    let slot = (0..)
                        .find(|s| open.iter().all(|o| o.slot != *s))
                        .unwrap_or(0);
                    open.push(Span {
                        lane,
                        lock: Some(l.clone()),
                        cache: r.cache.clone(),
                        cpu: r.cpu,
                        first: i,
                        last: i,
                        from_top: false,
                        to_bottom: false,
                        slot,
                    });
                }
                "unlock" => {
                    let keys: Vec<(String, Option<String>)> = open
                        .iter()
                        .map(|o| (o.lock.clone().unwrap_or_default(), o.cache.clone()))
                        .collect();
                    if let Some(p) = matching(&keys, l, &r.cache) {
                        let mut s = open.remove(p);
                        s.last = i;
                        out.push(s);
                    }
                }
                _ => {}
            }
        }
        out.extend(open.into_iter().map(|mut s| {
            s.last = n - 1;
            s.to_bottom = true;
            s
        }));
        // Interrupts off, per CPU of the lane (on_each_cpu and stop_machine turn another
        // CPU's interrupts off in the caller's lane; a task that migrated turns them
        // off again on its new CPU).
        let mut cpus: Vec<u16> = Vec::new();
        for &i in &idx {
            let r = &t.rows[i];
            if (is_irq_off(r.class) || is_irq_on(r.class)) && !cpus.contains(&r.cpu) {
                cpus.push(r.cpu);
            }
        }
        for cpu in cpus {
            let ev: Vec<usize> = idx
                .iter()
                .copied()
                .filter(|&i| t.rows[i].cpu == cpu)
                .filter(|&i| is_irq_off(t.rows[i].class) || is_irq_on(t.rows[i].class))
                .collect();
            let irq = |first: usize, from_top: bool| Span {
                lane,
                lock: None,
                cache: None,
                cpu,
                first,
                last: first,
                from_top,
                to_bottom: false,
                slot: 0,
            };
            let mut cur = match ev.first() {
                Some(&i) if is_irq_on(t.rows[i].class) => Some(irq(0, true)),
                _ => None,
            };
            for i in ev {
                let off = is_irq_off(t.rows[i].class);
                match (&mut cur, off) {
                    (None, true) => cur = Some(irq(i, false)),
                    (Some(s), false) => {
                        s.last = i;
                        out.extend(cur.take());
                    }
                    _ => {}
                }
            }
            out.extend(cur.map(|mut s| {
                s.last = n - 1;
                s.to_bottom = true;
                s
            }));
        }
    }
    out.sort_by_key(|s| (s.first, s.lane, s.lock.is_none(), s.slot));
    out
}

/// The number of leading rows that belong to setup lanes and come before the first row of
/// a concurrent lane (never the failing row).
fn folded_rows(t: &FailureTrace) -> usize {
    let last = t.rows.len().saturating_sub(1);
    t.rows[..last]
        .iter()
        .position(|r| r.failing || !t.lanes.get(r.lane).is_some_and(|l| l.setup))
        .unwrap_or(last)
}

/// Lock names in order of first appearance, each with its colour.
fn lock_colours(spans: &[Span]) -> Vec<(String, &'static str)> {
    let mut v: Vec<(String, &'static str)> = Vec::new();
    for s in spans {
        if let Some(l) = &s.lock {
            if !v.iter().any(|(n, _)| n == l) {
                let c = LOCK_COLOURS[v.len() % LOCK_COLOURS.len()];
                v.push((l.clone(), c));
            }
        }
    }
    v
}

fn colour_of(colours: &[(String, &'static str)], lock: &str) -> &'static str {
    colours
        .iter()
        .find(|(n, _)| n == lock)
        .map_or("#000", |(_, c)| *c)
}

/// A CSS class name from a row class (letters, digits and `-` only).
fn css_class(class: &str) -> String {
    class
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn cpu_name(cpu: u16) -> String {
    if cpu as usize == slab_model::trace::NO_CPU {
        "no cpu".into()
    } else {
        format!("cpu{cpu}")
    }
}

/// Horizontal distance of two lock bars in a cell (each is 5 px wide, see `.bar`).
const BAR_STEP: usize = 7;

struct Layout<'t> {
    t: &'t FailureTrace,
    spans: Vec<Span>,
    colours: Vec<(String, &'static str)>,
    /// Per lane: the number of lock-bar slots it uses.
    slots: Vec<usize>,
    names: Vec<String>,
    /// Whether the rows name more than one cache (then each row names its cache).
    many_caches: bool,
}

impl<'t> Layout<'t> {
    fn new(t: &'t FailureTrace) -> Self {
        let spans = spans(t);
        let colours = lock_colours(&spans);
        let nl = lane_count(t);
        let mut slots = vec![0; nl];
        for s in spans.iter().filter(|s| s.lock.is_some()) {
            slots[s.lane] = slots[s.lane].max(s.slot + 1);
        }
        let names = (0..nl)
            .map(|i| {
                t.lanes
                    .get(i)
                    .map_or_else(|| format!("lane {i}"), |l| l.name.clone())
            })
            .collect();
        let mut caches: Vec<&str> = t.rows.iter().filter_map(|r| r.cache.as_deref()).collect();
        caches.sort_unstable();
        caches.dedup();
        Layout {
            t,
            spans,
            colours,
            slots,
            names,
            many_caches: caches.len() > 1,
        }
    }

    fn table(&self, h: &mut String, id: &str, rows: std::ops::Range<usize>, cols: &[usize]) {
        h.push_str(&format!(
            "<table id=\"{id}\" class=\"trace\">\n<colgroup><col class=\"seqcol\">"
        ));
        for _ in cols {
            h.push_str("<col>");
        }
        h.push_str("</colgroup>\n<thead><tr><th class=\"seq\">seq</th>");
        for &l in cols {
            let setup = self.t.lanes.get(l).is_some_and(|x| x.setup);
            h.push_str(&format!(
                "<th class=\"lane{}\">{}</th>",
                if setup { " setup" } else { "" },
                esc(&self.names[l])
            ));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for i in rows {
            self.row(h, i, cols);
        }
        h.push_str("</tbody></table>\n");
    }

    fn row(&self, h: &mut String, i: usize, cols: &[usize]) {
        let r = &self.t.rows[i];
        if r.failing {
            h.push_str("<tr class=\"failing\" id=\"failing-access\">");
            h.push_str("<td class=\"seq\">&#x2717;</td>");
        } else {
            h.push_str(&format!(
                "<tr class=\"ev\"><td class=\"seq\">{}</td>",
                r.seq
            ));
        }
        for &l in cols {
            self.cell(h, i, l);
        }
        h.push_str("</tr>\n");
    }

    fn cell(&self, h: &mut String, i: usize, lane: usize) {
        let r = &self.t.rows[i];
        let own = r.lane == lane;
        let covering: Vec<&Span> = self
            .spans
            .iter()
            .filter(|s| s.lane == lane && s.first <= i && i <= s.last)
            .collect();
        let irq: Vec<&&Span> = covering.iter().filter(|s| s.lock.is_none()).collect();
        let mut classes = vec![if own { "own" } else { "other" }.to_string()];
        if own {
            classes.push(format!("k-{}", css_class(r.class)));
        }
        if !irq.is_empty() {
            classes.push("irqoff".into());
        }
        let pad = 4 + self.slots.get(lane).copied().unwrap_or(0) * BAR_STEP;
        h.push_str(&format!(
            "<td class=\"{}\" style=\"padding-left:{pad}px\">",
            classes.join(" ")
        ));
        for s in covering.iter().filter(|s| s.lock.is_some()) {
            let lock = s.lock.as_deref().unwrap_or("");
            let mut c = String::from("bar lock");
            if s.first == i && !s.from_top {
                c.push_str(" open");
            }
            if s.last == i && !s.to_bottom {
                c.push_str(" close");
            }
            let what = match &s.cache {
                Some(cache) => format!("{lock} ({cache}) held"),
                None => format!("{lock} held"),
            };
            h.push_str(&format!(
                "<span class=\"{c}\" data-lock=\"{}\" title=\"{}\" style=\"left:{}px;background:{}\"></span>",
                esc(lock),
                esc(&what),
                2 + s.slot * BAR_STEP,
                colour_of(&self.colours, lock)
            ));
        }
        if !irq.is_empty() {
            let cpus: Vec<String> = irq.iter().map(|s| cpu_name(s.cpu)).collect();
            let mut c = String::from("bar irq");
            if irq.iter().all(|s| s.first == i && !s.from_top) {
                c.push_str(" open");
            }
            if irq.iter().all(|s| s.last == i && !s.to_bottom) {
                c.push_str(" close");
            }
            h.push_str(&format!(
                "<span class=\"{c}\" title=\"interrupts off on {}\"></span>",
                esc(&cpus.join(", "))
            ));
        }
        if own {
            h.push_str("<div class=\"txt\">");
            if r.failing {
                h.push_str("<span class=\"mark\">&#x2717; failing access</span> ");
            }
            // The model's text may already say where it ran and for which cache.
            let cpu = cpu_name(r.cpu);
            if r.cpu as usize != slab_model::trace::NO_CPU && !r.text.starts_with(&cpu) {
                h.push_str(&format!("<span class=\"cpu\">{cpu}</span> "));
            }
            if self.many_caches {
                if let Some(c) = r.cache.as_ref().filter(|c| !r.text.contains(c.as_str())) {
                    h.push_str(&format!("<span class=\"cache\">{}</span> ", esc(c)));
                }
            }
            if r.class == "unlocked-access" {
                h.push_str("<span class=\"tag\">unlocked</span> ");
            }
            h.push_str(&esc(&r.text));
            h.push_str("</div>");
        }
        h.push_str("</td>");
    }

    fn legend(&self, h: &mut String) {
        h.push_str("<div id=\"legend\" class=\"legend\">");
        for (name, colour) in &self.colours {
            h.push_str(&format!(
                "<span class=\"item\"><span class=\"swatch\" style=\"background:{colour}\"></span>{} held</span>",
                esc(name)
            ));
        }
        h.push_str(
            "<span class=\"item\"><span class=\"swatch irqswatch\"></span>interrupts off</span>\
             <span class=\"item\"><span class=\"swatch unlockedswatch\"></span>unlocked access</span>\
             <span class=\"item\"><span class=\"swatch failswatch\"></span>&#x2717; failing access</span>",
        );
        h.push_str("</div>\n");
    }

    /// What each lane holds at the failure (spans that run to the bottom).
    fn held_at_failure(&self, h: &mut String) {
        let mut items = Vec::new();
        for (lane, name) in self.names.iter().enumerate() {
            let open: Vec<&Span> = self
                .spans
                .iter()
                .filter(|s| s.lane == lane && s.to_bottom)
                .collect();
            if open.is_empty() {
                continue;
            }
            let mut parts: Vec<String> = open
                .iter()
                .filter_map(|s| s.lock.as_deref())
                .map(|l| {
                    format!(
                        "holds <span class=\"lockname\" style=\"border-color:{}\">{}</span>",
                        colour_of(&self.colours, l),
                        esc(l)
                    )
                })
                .collect();
            let irq: Vec<String> = open
                .iter()
                .filter(|s| s.lock.is_none())
                .map(|s| cpu_name(s.cpu))
                .collect();
            if !irq.is_empty() {
                parts.push(format!("interrupts off on {}", esc(&irq.join(", "))));
            }
            items.push(format!(
                "<li><b>{}</b>: {}</li>",
                esc(name),
                parts.join("; ")
            ));
        }
        if !items.is_empty() {
            h.push_str("<p class=\"held-title\">At the failure:</p><ul id=\"held\">");
            for i in items {
                h.push_str(&i);
            }
            h.push_str("</ul>\n");
        }
    }
}

fn explanation(h: &mut String, p: &Page) {
    h.push_str("<section id=\"explanation\">\n<h2>What this run re-introduces</h2>\n");
    for m in &p.mutations {
        let kind = match m.kind() {
            SwitchKind::Mutation => "mutation",
            SwitchKind::Fix => "fix switch",
        };
        h.push_str(&format!(
            "<p class=\"switch\"><code>{}</code> ({kind}): {} <span class=\"ref\">Kernel reference: {}.</span></p>\n",
            esc(m.name()),
            esc(m.description()),
            esc(m.reference())
        ));
    }
    if let Some(b) = p.shipped {
        h.push_str(&format!(
            "<p class=\"shipped\"><b>A bug that shipped</b> (the faithful era-{} model has it): shipped in {}, fixed in {}. Upstream fix: {}. {} Rerun with <code>--mutation {}</code> for the fixed kernel.</p>\n",
            b.era,
            esc(b.shipped_in),
            esc(b.fixed_in),
            esc(b.fix),
            esc(b.switch.description()),
            esc(b.switch.name())
        ));
    }
    if p.mutations.is_empty() && p.shipped.is_none() {
        h.push_str(
            "<p class=\"none\">No catalogue switch is on and no known shipped bug matches this \
             failure: the faithful model failed (a model bug or a new finding).</p>\n",
        );
    }
    h.push_str("</section>\n");
}

fn state_table(h: &mut String, t: &FailureTrace) {
    h.push_str("<h2>State at the failure</h2>\n");
    if t.state.is_empty() {
        h.push_str("<p id=\"state\">The rows record no array or slab state.</p>\n");
        return;
    }
    h.push_str(
        "<p>The arrays and slabs the rows involve, as the trace last recorded them.</p>\n\
         <table id=\"state\" class=\"state\"><thead><tr><th>place</th><th>cache</th><th>state</th><th>seq</th></tr></thead><tbody>\n",
    );
    for s in &t.state {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>\n",
            esc(&s.place),
            esc(s.cache.as_deref().unwrap_or("")),
            esc(&s.state),
            s.seq
        ));
    }
    h.push_str("</tbody></table>\n");
}

const CSS: &str = "\
body{font-family:system-ui,sans-serif;margin:1em 1.2em;color:#222;max-width:100%}\n\
h1{font-size:1.35em;margin:.2em 0 .5em;overflow-wrap:anywhere}\n\
h2{font-size:1.1em;margin:1.2em 0 .4em}\n\
.invariant{background:#fde8e8;border-left:6px solid #c0392b;padding:.6em 1em;font-weight:600;white-space:pre-wrap;overflow-wrap:anywhere}\n\
.context{margin:.4em 0;color:#444}\n\
p.held-title{margin:.5em 0 .1em;font-weight:600}\n\
ul#held{margin:.1em 0 .5em;padding-left:1.4em}\n\
.lockname{border-bottom:3px solid;font-family:ui-monospace,monospace}\n\
#explanation p{margin:.3em 0;line-height:1.4}\n\
#explanation .ref{color:#555}\n\
code{font-family:ui-monospace,monospace}\n\
code.replay{display:block;background:#f4f4f4;padding:.5em;word-break:break-all;white-space:pre-wrap}\n\
.legend{margin:.5em 0;font-size:13px;line-height:1.8}\n\
.legend .item{display:inline-block;margin-right:1.2em;white-space:nowrap;font-family:ui-monospace,monospace}\n\
.swatch{display:inline-block;width:14px;height:14px;vertical-align:middle;margin-right:4px;border-radius:2px}\n\
.irqswatch{background:#fff1c9;outline:1px solid #b59b3c}\n\
.unlockedswatch{background:#ffd8a8}\n\
.failswatch{background:#f5b7b1;outline:2px solid #c0392b}\n\
table{border-collapse:collapse;font-family:ui-monospace,monospace;font-size:12px}\n\
table.trace{table-layout:fixed;width:100%}\n\
col.seqcol{width:5em}\n\
th,td{border:1px solid #d6d6d6;padding:2px 6px;vertical-align:top;text-align:left}\n\
th{background:#2c3e50;color:#fff;position:sticky;top:0;z-index:2;overflow-wrap:anywhere}\n\
th.setup{background:#5d6d7e}\n\
table.trace td{position:relative;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}\n\
td.seq{color:#888;text-align:right;padding-left:2px}\n\
td.own{background:#eef6ff}\n\
td.irqoff{background:#fff1c9}\n\
td.own.irqoff{background:#fde9a9}\n\
td.k-enter .txt{color:#555}\n\
td.k-lock .txt,td.k-unlock .txt{font-weight:600}\n\
td.k-unlocked-access{background:#ffd8a8}\n\
td.k-migrate .txt,td.k-cpu-online .txt{color:#6c3483;font-weight:600}\n\
td.k-irq-off .txt,td.k-irq-on .txt,td.k-irq-window-open .txt,td.k-irq-window-close .txt{font-style:italic;color:#7a5c00}\n\
.txt{position:relative;z-index:1}\n\
.cpu{color:#888;font-size:11px}\n\
.cache{color:#1a5276;font-size:11px}\n\
.tag{background:#e67e22;color:#fff;font-size:10px;padding:0 3px;border-radius:2px}\n\
.bar{position:absolute;top:-1px;bottom:-1px;width:5px}\n\
.bar.open{top:3px;border-radius:3px 3px 0 0}\n\
.bar.close{bottom:3px;border-radius:0 0 3px 3px}\n\
.bar.open.close{border-radius:3px}\n\
.bar.irq{right:1px;width:7px;background:repeating-linear-gradient(45deg,#8a6d00 0 2px,transparent 2px 4px)}\n\
tr.failing td,tr.failing td.irqoff,tr.failing td.own.irqoff{background:#f5b7b1}\n\
tr.failing td.own{outline:2px solid #c0392b;outline-offset:-2px;font-weight:700}\n\
tr.failing td.seq{color:#c0392b;font-weight:700}\n\
.mark{background:#c0392b;color:#fff;padding:0 4px;border-radius:2px;white-space:nowrap}\n\
details{margin:.5em 0}\n\
summary{cursor:pointer;color:#1a5276}\n\
details.setup table{margin-top:.4em}\n\
table.state td.num{text-align:right;color:#888}\n\
pre.message{white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px;background:#f8f8f8;padding:.5em}\n";

/// Renders the page.
pub fn counterexample_page(p: &Page) -> String {
    let t = p.trace;
    let lay = Layout::new(t);
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str(&format!(
        "<title>SLAB counterexample: {}</title>\n<style>\n{CSS}</style></head><body>\n",
        esc(p.title)
    ));
    h.push_str(&format!("<h1>Counterexample: {}</h1>\n", esc(p.title)));
    h.push_str(&format!(
        "<div class=\"invariant\" id=\"invariant\">{}</div>\n",
        esc(&t.invariant)
    ));
    if !t.context.is_empty() {
        h.push_str(&format!(
            "<p class=\"context\">Failing context: <b>{}</b></p>\n",
            esc(&t.context)
        ));
    }
    lay.held_at_failure(&mut h);
    explanation(&mut h, p);

    h.push_str("<h2>Interleaving</h2>\n");
    let n = t.rows.len();
    if n == 0 {
        h.push_str(
            "<p id=\"lanes\">The model recorded no trace for this failure (a failure the \
             scheduler reports, such as a deadlock, has none).</p>\n",
        );
    } else {
        let fold = folded_rows(t);
        let mut intro = format!(
            "One column per execution context, one row per model event, oldest first; the \
             last row is the failing access. {} rows",
            n
        );
        if t.earlier_events > 0 {
            intro.push_str(&format!(
                " (the end of the run: {} earlier events are not shown)",
                t.earlier_events
            ));
        }
        intro.push('.');
        h.push_str(&format!("<p>{}</p>\n", esc(&intro)));
        lay.legend(&mut h);
        let nl = lane_count(t);
        let setup = |l: usize| t.lanes.get(l).is_some_and(|x| x.setup);
        if fold > 0 {
            let cols: Vec<usize> = (0..nl)
                .filter(|&l| t.rows[..fold].iter().any(|r| r.lane == l))
                .collect();
            h.push_str(&format!(
                "<details class=\"setup\" id=\"setup\"><summary>{fold} setup row{} (single-threaded)</summary>\n",
                if fold == 1 { "" } else { "s" }
            ));
            lay.table(&mut h, "setup-rows", 0..fold, &cols);
            h.push_str("</details>\n");
        }
        // A setup lane whose rows and spans all end in the fold gets no column here.
        let cols: Vec<usize> = (0..nl)
            .filter(|&l| {
                !setup(l)
                    || t.rows[fold..].iter().any(|r| r.lane == l)
                    || lay.spans.iter().any(|s| s.lane == l && s.last >= fold)
            })
            .collect();
        lay.table(&mut h, "lanes", fold..n, &cols);
    }
    state_table(&mut h, t);
    h.push_str("<h2>Replay</h2>\n");
    h.push_str(&format!(
        "<code class=\"replay\" id=\"replay\">slab-verify replay '{}'</code>\n",
        esc(p.token)
    ));
    h.push_str(
        "<details id=\"message\"><summary>Full failure message</summary>\n<pre class=\"message\">",
    );
    h.push_str(&esc(p.message));
    h.push_str("</pre></details>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::{Lane, StateRow, TraceRow};

    fn row(lane: usize, class: &'static str, lock: Option<&str>, text: &str) -> TraceRow {
        TraceRow {
            seq: 0,
            lane,
            cpu: lane as u16,
            cache: Some("scn".into()),
            class,
            lock: lock.map(String::from),
            text: text.into(),
            failing: false,
        }
    }

    fn trace(lanes: &[(&str, bool)], mut rows: Vec<TraceRow>) -> FailureTrace {
        for (i, r) in rows.iter_mut().enumerate() {
            r.seq = 100 + i as u64;
        }
        let last = rows.last_mut().expect("rows");
        last.failing = true;
        last.class = "failure";
        FailureTrace {
            invariant: "data race: cache_alloc_refill with a stale ac".into(),
            context: "task@cpu0".into(),
            lanes: lanes
                .iter()
                .map(|(n, s)| Lane {
                    name: n.to_string(),
                    setup: *s,
                })
                .collect(),
            rows,
            earlier_events: 7,
            state: vec![StateRow {
                place: "ac[cpu0]".into(),
                cache: Some("scn".into()),
                state: "avail 3".into(),
                seq: 101,
            }],
        }
    }

    fn page(t: &FailureTrace, m: &[Mutation]) -> String {
        counterexample_page(&Page {
            title: "migrate-across-window era A",
            message: "data race: <stale> & more\n--- model trace",
            token: "slab2:migrate-across-window:A:2:3:1:stale-ac-after-grow:x",
            trace: t,
            mutations: m.to_vec(),
            shipped: None,
        })
    }

    /// The `<tr ...>` elements of the table with this id, in order.
    fn table_rows<'h>(h: &'h str, id: &str) -> Vec<&'h str> {
        let start = h.find(&format!("<table id=\"{id}\"")).expect("table");
        let end = start + h[start..].find("</table>").unwrap();
        h[start..end]
            .split("<tr")
            .skip(2) // before the header, the header
            .collect()
    }

    /// A two-lane race: task@cpu0 takes list_lock with interrupts off, irq@cpu1 touches
    /// the array unlocked, the task releases and fails.
    fn race() -> FailureTrace {
        trace(
            &[("setup", true), ("task@cpu0", false), ("irq@cpu1", false)],
            vec![
                row(0, "enter", None, "kmem_cache_alloc"),    // 0 setup
                row(0, "object", None, "alloc 0x1000"),       // 1 setup
                row(1, "irq-off", None, "local_irq_disable"), // 2
                row(
                    1,
                    "lock",
                    Some("node0.list_lock"),
                    "spin_lock(node0.list_lock)",
                ), // 3
                row(2, "unlocked-access", None, "peek ac[cpu0]"), // 4
                row(
                    1,
                    "unlock",
                    Some("node0.list_lock"),
                    "spin_unlock(node0.list_lock)",
                ), // 5
                row(1, "objects", None, "3 objects slab -> ac[cpu0]"), // 6
                row(1, "failure", None, "FAILS HERE"),        // 7
            ],
        )
    }

    #[test]
    fn a_lock_span_covers_exactly_the_rows_from_lock_to_unlock() {
        let t = race();
        let s = spans(&t);
        let lock: Vec<&Span> = s.iter().filter(|s| s.lock.is_some()).collect();
        assert_eq!(lock.len(), 1, "{s:?}");
        assert_eq!((lock[0].lane, lock[0].first, lock[0].last), (1, 3, 5));
        assert!(!lock[0].from_top && !lock[0].to_bottom);
        // In the page: the bar is in the task's column of rows 3..=5 (main-table rows
        // 1..=3, the two setup rows being folded), in no other row.
        let h = page(&t, &[]);
        let rows = table_rows(&h, "lanes");
        assert_eq!(rows.len(), 6);
        for (k, r) in rows.iter().enumerate() {
            let bars = r.matches("class=\"bar lock").count();
            assert_eq!(bars, usize::from((1..=3).contains(&k)), "row {k}: {r}");
        }
        assert!(rows[1].contains("bar lock open"));
        assert!(rows[3].contains("bar lock close"));
        assert!(h.contains("data-lock=\"node0.list_lock\""));
        assert!(h.contains("node0.list_lock held</span>"), "legend");
    }

    #[test]
    fn an_irq_off_span_runs_to_the_failure_when_still_open() {
        let t = race();
        let s = spans(&t);
        let irq: Vec<&Span> = s.iter().filter(|s| s.lock.is_none()).collect();
        assert_eq!(irq.len(), 1);
        assert_eq!((irq[0].lane, irq[0].first, irq[0].last), (1, 2, 7));
        assert!(irq[0].to_bottom && !irq[0].from_top);
        let h = page(&t, &[]);
        let rows = table_rows(&h, "lanes");
        for (k, r) in rows.iter().enumerate() {
            assert_eq!(r.matches("class=\"bar irq").count(), 1, "row {k}");
        }
        assert!(h.contains("interrupts off on cpu1"), "held at the failure");
    }

    #[test]
    fn an_unmatched_unlock_draws_from_the_top() {
        let t = trace(
            &[("task@cpu0", false), ("irq@cpu1", false)],
            vec![
                row(1, "enter", None, "kfree"),
                row(0, "objects", None, "free_block"),
                row(0, "unlock", Some("node0.list_lock"), "spin_unlock"),
                row(0, "irq-on", None, "local_irq_enable"),
                row(0, "lock", Some("cache_chain_mutex"), "mutex_lock"),
                row(1, "failure", None, "FAILS HERE"),
            ],
        );
        let s = spans(&t);
        let get = |l: Option<&str>| {
            s.iter()
                .find(|x| x.lock.as_deref() == l)
                .map(|x| (x.first, x.last, x.from_top, x.to_bottom))
        };
        assert_eq!(get(Some("node0.list_lock")), Some((0, 2, true, false)));
        assert_eq!(get(None), Some((0, 3, true, false)));
        assert_eq!(get(Some("cache_chain_mutex")), Some((4, 5, false, true)));
        let h = page(&t, &[]);
        let rows = table_rows(&h, "lanes");
        assert!(rows[0].contains("data-lock=\"node0.list_lock\""));
        assert!(
            !rows[0].contains("bar lock open"),
            "no opening cap at the top"
        );
        assert!(rows[0].contains("class=\"bar irq\""));
        assert!(rows[5].contains("data-lock=\"cache_chain_mutex\""));
        // Two locks, two slots, two colours; cache_chain_mutex reuses the freed slot 0.
        assert_eq!(
            s.iter().filter(|x| x.lock.is_some()).map(|x| x.slot).max(),
            Some(0)
        );
    }

    #[test]
    fn nested_locks_get_separate_slots_and_match_by_name() {
        let t = trace(
            &[("tuner@cpu0", false)],
            vec![
                row(0, "lock", Some("slab_mutex"), "mutex_lock(slab_mutex)"),
                row(0, "lock", Some("node0.list_lock"), "spin_lock"),
                row(
                    0,
                    "unlock",
                    Some("slab_mutex"),
                    "mutex_unlock (out of order)",
                ),
                row(0, "unlock", Some("node0.list_lock"), "spin_unlock"),
                row(0, "failure", None, "FAILS HERE"),
            ],
        );
        let s = spans(&t);
        let m: Vec<_> = s
            .iter()
            .map(|x| (x.lock.clone().unwrap(), x.first, x.last, x.slot))
            .collect();
        assert_eq!(
            m,
            vec![
                ("slab_mutex".into(), 0, 2, 0),
                ("node0.list_lock".into(), 1, 3, 1)
            ]
        );
    }

    #[test]
    fn only_the_failing_row_has_the_failing_class() {
        let t = race();
        let h = page(&t, &[]);
        assert_eq!(h.matches("class=\"failing\"").count(), 1);
        assert_eq!(h.matches("failing access</span> ").count(), 1, "one marker");
        let rows = table_rows(&h, "lanes");
        let last = rows.last().unwrap();
        assert!(last.starts_with(" class=\"failing\""), "{last}");
        assert!(rows[..rows.len() - 1]
            .iter()
            .all(|r| !r.contains("failing")));
        assert!(!h.contains("last-child"), "no positional red");
    }

    #[test]
    fn setup_rows_before_the_concurrent_part_are_folded() {
        let t = race();
        assert_eq!(folded_rows(&t), 2);
        let h = page(&t, &[]);
        assert!(h.contains("<details class=\"setup\" id=\"setup\"><summary>2 setup rows (single-threaded)</summary>"));
        assert!(!h.contains("<details class=\"setup\" id=\"setup\" open"));
        assert_eq!(table_rows(&h, "setup-rows").len(), 2);
        let main = &h[h.find("<table id=\"lanes\"").unwrap()..];
        let header = &main[..main.find("</thead>").unwrap()];
        assert!(
            !header.contains(">setup<"),
            "the folded setup lane has no column"
        );
        assert_eq!(header.matches("class=\"lane").count(), 2);
        // Setup rows after a concurrent row stay in place; the failing row never folds.
        let t2 = trace(
            &[("setup", true)],
            vec![row(0, "enter", None, "a"), row(0, "failure", None, "b")],
        );
        assert_eq!(folded_rows(&t2), 1);
        let t3 = trace(
            &[("setup", true), ("task", false)],
            vec![
                row(1, "enter", None, "a"),
                row(0, "enter", None, "b"),
                row(1, "failure", None, "c"),
            ],
        );
        assert_eq!(folded_rows(&t3), 0);
        assert!(!page(&t3, &[]).contains("<details class=\"setup\""));
    }

    #[test]
    fn everything_is_escaped() {
        let mut t = race();
        t.invariant = "a <b> & \"c\" 'd'".into();
        t.lanes[1].name = "task@cpu0->1".into();
        t.rows[4].text = "<script>alert(1)</script>".into();
        t.rows[3].lock = Some("alien[node1]@node0<x>".into());
        t.rows[5].lock = Some("alien[node1]@node0<x>".into());
        t.state[0].state = "on <slabs_partial>".into();
        let h = page(&t, &[]);
        assert!(h.contains("a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;"));
        assert!(h.contains("task@cpu0-&gt;1"));
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!h.contains("<script"));
        assert!(h.contains("data-lock=\"alien[node1]@node0&lt;x&gt;\""));
        assert!(h.contains("on &lt;slabs_partial&gt;"));
        assert!(h.contains("data race: &lt;stale&gt; &amp; more"));
        assert!(h.contains("slab-verify replay 'slab2:migrate-across-window:A:"));
    }

    #[test]
    fn the_page_explains_the_switches_and_shows_the_state() {
        let t = race();
        let h = page(&t, &[Mutation::StaleAcAfterGrow]);
        assert!(h.contains("<section id=\"explanation\">"));
        assert!(h.contains("<code>stale-ac-after-grow</code> (mutation)"));
        assert!(h.contains(&esc(Mutation::StaleAcAfterGrow.description())));
        assert!(h.contains(&esc(Mutation::StaleAcAfterGrow.reference())));
        assert!(h.contains("<table id=\"state\""));
        assert!(h.contains("<td>ac[cpu0]</td><td>scn</td><td>avail 3</td>"));
        assert!(h.contains("<details id=\"message\"><summary>Full failure message</summary>"));
        assert!(h.contains("7 earlier events are not shown"));
        let b = &slab_model::mutation::SHIPPED_BUGS[0];
        let shipped = counterexample_page(&Page {
            title: "t",
            message: "m",
            token: "k",
            trace: &t,
            mutations: vec![],
            shipped: Some(b),
        });
        assert!(shipped.contains(&esc(b.fix)));
        assert!(shipped.contains(&esc(b.shipped_in)));
        assert!(!page(&t, &[]).contains("class=\"switch\""));
        assert!(page(&t, &[]).contains("No catalogue switch is on"));
    }

    #[test]
    fn an_empty_trace_still_renders() {
        let t = FailureTrace::default();
        let h = page(&t, &[]);
        assert!(h.contains("id=\"lanes\"") && h.contains("recorded no trace"));
        assert!(!h.contains("class=\"failing\""));
    }
}
