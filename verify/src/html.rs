//! The counterexample as one self-contained HTML page: the violated invariant on top, the
//! replay token, then a table with a column per execution context (CPU lane) and a row per
//! model event.

use crate::scenario::FailureTrace;

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

/// Renders the page. `title` names the scenario and parameters; `token` replays it.
pub fn counterexample_page(
    title: &str,
    message: &str,
    token: &str,
    trace: &FailureTrace,
) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    h.push_str(&format!(
        "<title>SLAB counterexample: {}</title>\n",
        esc(title)
    ));
    h.push_str(
        "<style>\nbody{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\n\
         .invariant{background:#fde8e8;border-left:6px solid #c0392b;padding:.8em 1em;font-weight:600;white-space:pre-wrap}\n\
         code.token{display:block;background:#f4f4f4;padding:.5em;word-break:break-all}\n\
         table{border-collapse:collapse;margin-top:1em;font-family:ui-monospace,monospace;font-size:12px}\n\
         th,td{border:1px solid #ccc;padding:2px 6px;vertical-align:top}\n\
         th{background:#2c3e50;color:#fff;position:sticky;top:0}\n\
         td.seq{color:#888;text-align:right}\ntd.ev{background:#eef6ff}\n\
         tr:last-child td.ev{background:#fde8e8}\n</style></head><body>\n",
    );
    h.push_str(&format!("<h1>Counterexample: {}</h1>\n", esc(title)));
    h.push_str(&format!(
        "<div class=\"invariant\" id=\"invariant\">{}</div>\n",
        esc(trace.invariant.as_str())
    ));
    h.push_str("<h2>Replay</h2>\n");
    h.push_str(&format!(
        "<code class=\"token\" id=\"token\">slab-verify replay '{}'</code>\n",
        esc(token)
    ));
    h.push_str("<h2>Interleaving</h2>\n<p>One column per execution context, one row per model event, oldest first (the last ");
    h.push_str(&format!(
        "{} events before the failure).</p>\n",
        trace.events.len()
    ));
    h.push_str("<table id=\"lanes\">\n<tr><th>seq</th>");
    for l in &trace.lanes {
        h.push_str(&format!("<th class=\"lane\">{}</th>", esc(l)));
    }
    h.push_str("</tr>\n");
    for (seq, lane, text) in &trace.events {
        h.push_str(&format!("<tr><td class=\"seq\">{seq}</td>"));
        for i in 0..trace.lanes.len() {
            if i == *lane {
                h.push_str(&format!("<td class=\"ev\">{}</td>", esc(text)));
            } else {
                h.push_str("<td></td>");
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n<h2>Full failure message</h2>\n<pre>");
    h.push_str(&esc(message));
    h.push_str("</pre>\n</body></html>\n");
    h
}
